package http

import "bytes"

// LooksLikeRequest reports whether b starts with a known request method
// followed by SP, for detecting HTTP by content on any port. Besides the
// RFC 9110 methods it knows WebDAV and the RPC-over-HTTP methods of
// Outlook Anywhere / RD Gateway, which are common NTLM carriers.
func LooksLikeRequest(b []byte) bool {
	n := len(b)
	if n > maxMethodLen+1 {
		n = maxMethodLen + 1
	}
	sp := bytes.IndexByte(b[:n], ' ')
	if sp <= 0 {
		return false
	}
	switch string(b[:sp]) {
	case "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
		// WebDAV (RFC 4918, RFC 3253, RFC 5323)
		"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT",
		// MS-RPCH RPC over HTTP
		"RPC_IN_DATA", "RPC_OUT_DATA":
		return true
	}
	return false
}

// LooksLikeResponse reports whether b starts with an HTTP/1.x status line.
func LooksLikeResponse(b []byte) bool {
	return len(b) >= 7 && string(b[:7]) == "HTTP/1."
}
