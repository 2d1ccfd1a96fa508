//go:build race

package main

// raceEnabled: the race detector slows the scale test about tenfold.
const raceEnabled = true
