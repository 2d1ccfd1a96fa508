package config

// Suggest is the did-you-mean hint for a name that is not among choices,
// for command-line names (reports, jobs): "(did you mean "x"?)", or
// "(valid: a, b)" when nothing is close and there are at most maxList
// choices; "" otherwise.
func Suggest(name string, choices []string, maxList int) string {
	return choiceHint(name, choices, maxList)
}
