//go:build race

package closefake

const raceEnabled = true
