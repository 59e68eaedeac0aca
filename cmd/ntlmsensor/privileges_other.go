//go:build !linux

package main

import "errors"

func dropPrivileges(name string) (string, error) {
	return "", errors.New("-user is implemented on Linux only: run the service as the user instead")
}
