//go:build !linux

package main

import "errors"

func dropPrivileges(name string) (string, error) {
	return "", errors.New("-user is implemented on Linux only: run the service as the user instead")
}

// confine: the bounding set, no_new_privs and seccomp are Linux's; -user
// is refused elsewhere.
func confine(name string, filter bool) (string, error) {
	if name == "" {
		return "", nil
	}
	return dropPrivileges(name)
}
