package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// signalled is the cause of the context main cancels on SIGINT or
// SIGTERM. It matches context.Canceled, as ctx.Err() does.
type signalled struct{ sig os.Signal }

func (s signalled) Error() string { return fmt.Sprintf("%v signal received", s.sig) }

func (s signalled) Is(target error) bool { return target == context.Canceled }

// exitCode is the shell's code for a process that ended on the signal:
// 128 + its number (130 for Ctrl-C).
func (s signalled) exitCode() int {
	if n, ok := s.sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return exitFailed
}

// notifyContext is signal.NotifyContext for SIGINT and SIGTERM, with the
// signal as the context's cause (signalled).
func notifyContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-ch:
			cancel(signalled{sig})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// errInterrupted is a command's error when a signal cancelled its work
// (what was cancelled has been printed): the process exits 128 + the
// signal's number.
var errInterrupted = errors.New("interrupted")

// interruptedCode is the exit code of err when it is errInterrupted and
// ctx was cancelled by a signal.
func interruptedCode(ctx context.Context, err error) (int, bool) {
	var s signalled
	if !errors.Is(err, errInterrupted) || !errors.As(context.Cause(ctx), &s) {
		return 0, false
	}
	return s.exitCode(), true
}
