package main

import (
	"flag"
	"fmt"
	"strings"

	"ntlmsensor/sinks/elasticsearch"
)

// credentialOnCommandLine refuses an -es-header carrying a credential
// (Authorization, Cookie, X-API-Key...) given on the command line, where
// ps and the shell history show it to everyone: it belongs in the
// environment (NTLMSENSOR_ES_HEADER) or the -config file, or better in
// -es-api-key-file / -es-password-file. Call it right after fs.Parse,
// before other sources fill the flags. The message never repeats the value.
func credentialOnCommandLine(fs *flag.FlagSet) error {
	f := fs.Lookup("es-header")
	if f == nil {
		return nil
	}
	// the repeated values, joined by commas: a credential header's name
	// comes first in its own piece
	for _, h := range strings.Split(f.Value.String(), ",") {
		if elasticsearch.CredentialHeader(h) {
			k, _, _ := strings.Cut(h, ":")
			return fmt.Errorf("-es-header %q carries a credential: on the command line it is visible to every user (ps); put it in the environment (NTLMSENSOR_ES_HEADER) or the -config file, or use -es-api-key-file / -es-password-file", strings.TrimSpace(k))
		}
	}
	return nil
}

// redact takes from a line for stderr the credentials the sensor was given
// (elasticsearch.Secrets): an error body that echoes them stays out of
// the logs.
func redact(p []byte) []byte {
	s := string(p)
	if r := elasticsearch.Secrets.Redact(s); r != s {
		return []byte(r)
	}
	return p
}
