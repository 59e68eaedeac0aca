package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"ntlmsensor/sinks/elasticsearch"
)

// esSetupFlags defines the options of es-setup (also read by gen-man).
func esSetupFlags(stderr io.Writer) (*flag.FlagSet, *elasticsearch.Config, *bool) {
	fs := flag.NewFlagSet("ntlmsensor es-setup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	es := elasticsearch.Defaults()
	es.AddFlags(fs)
	printOnly := fs.Bool("print", false, "write the ILM policy and the index template to stdout (Kibana Dev Tools syntax) instead of installing them; needs no -es")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntlmsensor es-setup -es URL [-es-index PATTERN | -es-data-stream NAME] [-es-template NAME] [-es-ilm=false | -es-retention 90d] [TLS and credential options]\n")
		fmt.Fprintf(stderr, "       ntlmsensor es-setup -print [same options]\n\n")
		fs.PrintDefaults()
	}
	return fs, &es, printOnly
}

// esSetup installs the ILM policy and the Elasticsearch index template, or
// prints them (-print).
func esSetup(args []string, stdout, stderr io.Writer) int {
	fs, es, printOnly := esSetupFlags(stderr)
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
	if fs.NArg() > 0 || (!es.Enabled() && !*printOnly) {
		fs.Usage()
		return 2
	}
	if *printOnly {
		if err := elasticsearch.WriteSetup(stdout, *es); err != nil {
			fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
			return 1
		}
		return 0
	}
	if err := elasticsearch.Setup(context.Background(), *es); err != nil {
		fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
		return 1
	}
	pat, _ := es.IndexPattern()
	if es.ILM {
		fmt.Fprintf(stdout, "ILM policy %q installed (delete after %s)\n", es.PolicyName(), es.Retention)
	}
	fmt.Fprintf(stdout, "index template %q installed for %s\n", es.Template, pat)
	return 0
}
