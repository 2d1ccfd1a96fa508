package main

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
)

func cmdValidate(ctx context.Context, args []string, e *env) error {
	fs := newFlags("validate", "--config FILE [--check] [--credentials-dir DIR]", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	check := fs.Bool("check", false, "also call Close's /me/ with each account's key")
	credentialsDirFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(e.stdout, "warning: %s\n", w)
	}
	if *check {
		cs, err := newClients(cfg, zap.NewNop(), nil)
		if err != nil {
			return err
		}
		bad := 0
		for _, a := range cfg.Accounts {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err := cs.byAccount[a.Name].Me(cctx)
			cancel()
			if err != nil {
				fmt.Fprintf(e.stdout, "accounts %s: %v\n", a.Name, err)
				bad++
				continue
			}
			fmt.Fprintf(e.stdout, "accounts %s: key accepted by %s\n", a.Name, a.BaseURL)
		}
		if bad > 0 {
			return usagef("%d of %d accounts failed the check", bad, len(cfg.Accounts))
		}
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d accounts, %d jobs)\n", *cfgPath, len(cfg.Accounts), len(cfg.Jobs))
	return nil
}

func zapErr(err error) zap.Field { return zap.Error(err) }
