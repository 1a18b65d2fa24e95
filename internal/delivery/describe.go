package delivery

// Describe is each drift's words (Drift.String): what a decision's log line, its notification and the stored record
// say was found.
func Describe(drifts []Drift) []string {
	out := make([]string, len(drifts))
	for i, d := range drifts {
		out[i] = d.String()
	}
	return out
}
