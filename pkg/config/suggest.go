package config

// Suggest is the did-you-mean hint for a name that is not among choices,
// for command-line names (reports, jobs): "(did you mean "x"?)", or
// "(valid: a, b)" when nothing is close and there are at most maxList
// choices; "" otherwise.
func Suggest(name string, choices []string, maxList int) string {
	return choiceHint(name, choices, maxList)
}

// Closest returns the choices closest to name, nearest first (at most
// three, all equally near), or none: the ranking of Suggest, for callers
// that word the hint themselves (flags are named "--config", not "config").
func Closest(name string, choices []string) []string {
	return closest(name, choices)
}
