package main

import (
	"flag"
	"fmt"
	"strings"

	"ntlmsensor/audit"
	"ntlmsensor/audit/detect"
	"ntlmsensor/sensor"
)

// detectOptions: the attack detectors (package audit/detect), an analyzer
// of the audit stage. Their thresholds default to detect.DefaultConfig,
// whose reasons README "Attack alerts" gives.
type detectOptions struct {
	on  *bool
	cfg detect.Config
	det *detect.Detector // made by analyzers, for the summary
}

func addDetectFlags(fs *flag.FlagSet) *detectOptions {
	d := detect.DefaultConfig()
	o := &detectOptions{on: fs.Bool("detect", true, "raise attack alerts (relay, coercion, rogue server, spraying, brute force, roasting, Kerberos downgrade) through the same outputs; -detect=false turns them off")}
	fs.DurationVar(&o.cfg.RelayWindow, "detect-relay-window", d.RelayWindow, "two uses of one NTLM response or challenge this close together are one relay")
	fs.IntVar(&o.cfg.RogueConnections, "detect-rogue-connections", d.RogueConnections, "connections sharing one server challenge that make a rogue server")
	fs.DurationVar(&o.cfg.GuessWindow, "detect-guess-window", d.GuessWindow, "window of one client's failed logons (spraying, brute force)")
	fs.IntVar(&o.cfg.SprayAccounts, "detect-spray-accounts", d.SprayAccounts, "accounts failing from one client within the window that make spraying")
	fs.IntVar(&o.cfg.BruteFailures, "detect-brute-failures", d.BruteFailures, "failures of one account from one client within the window that make brute force")
	fs.DurationVar(&o.cfg.RoastWindow, "detect-roast-window", d.RoastWindow, "window of one client's service ticket requests (Kerberoasting)")
	fs.IntVar(&o.cfg.RoastSPNs, "detect-roast-spns", d.RoastSPNs, "SPNs asked with RC4 preferred within the window that make Kerberoasting")
	fs.IntVar(&o.cfg.RoastAnySPNs, "detect-roast-any-spns", d.RoastAnySPNs, "SPNs asked whatever the etypes within the window that make Kerberoasting")
	fs.DurationVar(&o.cfg.KrbWindow, "detect-krb-window", d.KrbWindow, "how long an account's AES offer is remembered (downgrade) and an alert not repeated")
	fs.DurationVar(&o.cfg.CoercionWindow, "detect-coercion-window", d.CoercionWindow, "how soon after a coercing RPC call the machine account's logon must come")
	return o
}

// analyzers: with -detect (the default), the detector, and the observations it needs
// let through the pipeline (the stage hands them to the analyzers only,
// never to a sink).
func (o *detectOptions) analyzers(cfg *sensor.Config) []audit.Analyzer {
	if o == nil || o.on == nil || !*o.on {
		return nil
	}
	cfg.Observations = true
	c := o.cfg
	c.Observer = cfg.Observer
	o.det = detect.New(c)
	return []audit.Analyzer{o.det}
}

// summary is the detectors' line of the exit summary.
func (o *detectOptions) summary() string {
	if o == nil || o.det == nil {
		return ""
	}
	st := o.det.Stats()
	s := "ntlmsensor: detect: no alert"
	if n := st.Total(); n > 0 {
		var per []string
		for i, n := range st.Alerts {
			if n > 0 {
				per = append(per, fmt.Sprintf("%s %d", detect.Rules[i].ID, n))
			}
		}
		s = fmt.Sprintf("ntlmsensor: detect: %d alerts (%s)", n, strings.Join(per, ", "))
	}
	if st.LimitHits > 0 { // internals only when a limit was hit
		s += fmt.Sprintf("; %d table limit hits", st.LimitHits)
	}
	return s
}
