package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"ntlmsensor/sinks/json"
)

// watchSignals handles the signals of a run until the returned function is
// called. SIGINT/SIGTERM set stop: reading ends, what is pending is emitted,
// the sinks flush or spool what they buffer (a second signal kills).
// SIGHUP reopens the -w file (after logrotate moved it).
func watchSignals(stop *atomic.Bool, jsonSink *json.Sink, stderr io.Writer) (done func()) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	sigDone := make(chan struct{})
	go func() {
		for {
			select {
			case <-sigDone:
				return
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					if jsonSink != nil {
						if err := jsonSink.Reopen(); err != nil {
							fmt.Fprintf(stderr, "ntlmsensor: %v\n", err)
						}
					}
					continue
				}
				if !stop.Swap(true) {
					fmt.Fprintf(stderr, "ntlmsensor: %v: stopping (flushing findings)\n", sig)
				}
				signal.Reset(syscall.SIGINT, syscall.SIGTERM)
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(sigDone)
	}
}
