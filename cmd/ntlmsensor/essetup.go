package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"ntlmsensor/sinks/elasticsearch"
)

// esSetup installs the Elasticsearch index template.
func esSetup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ntlmsensor es-setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	es := elasticsearch.Defaults()
	es.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor es-setup -es URL [-es-index PATTERN | -es-data-stream NAME] [-es-template NAME] [TLS and credential options]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := credentialOnCommandLine(fs); err != nil { // secrets.go
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		return 2
	}
	if !es.Enabled() || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if err := elasticsearch.Setup(context.Background(), es); err != nil {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		return 1
	}
	pat, _ := es.IndexPattern()
	fmt.Fprintf(stdout, "index template %q installed for %s\n", es.Template, pat)
	return 0
}
