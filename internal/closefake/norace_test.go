//go:build !race

package closefake

const raceEnabled = false
