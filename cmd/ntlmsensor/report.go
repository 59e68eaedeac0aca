package main

import (
	"fmt"
	"io"
)

// reportCommand is `ntlmsensor report`.
func reportCommand(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ntlmsensor report: not yet")
	return 2
}
