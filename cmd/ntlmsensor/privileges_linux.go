//go:build linux

package main

import (
	"fmt"
	"os/user"
	"strconv"
	"syscall"
)

// dropPrivileges makes the process run as the user name (a name or a
// numeric uid) with its primary and supplementary groups. From root this
// clears every capability (no PR_SET_KEEPCAPS): the sockets already open
// stay usable, nothing else privileged is kept. Go applies the calls to
// every thread of the process.
func dropPrivileges(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr != nil {
			return "", fmt.Errorf("user %q: %v", name, err)
		}
		if u, err = user.LookupId(name); err != nil {
			return "", fmt.Errorf("user %q: %v", name, err)
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return "", fmt.Errorf("user %q: uid %q", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return "", fmt.Errorf("user %q: gid %q", name, u.Gid)
	}
	gids := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil && g != gid {
				gids = append(gids, g)
			}
		}
	}
	if err := syscall.Setgroups(gids); err != nil {
		return "", fmt.Errorf("user %q: setgroups: %v", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", fmt.Errorf("user %q: setgid %d: %v", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", fmt.Errorf("user %q: setuid %d: %v", name, uid, err)
	}
	if uid != 0 && syscall.Setuid(0) == nil {
		return "", fmt.Errorf("user %q: root could be regained after the switch", name)
	}
	return fmt.Sprintf("%s (uid %d, gid %d)", u.Username, uid, gid), nil
}
