package decisionlog

// AppendJSON lets the external tests reach the hand-written encoder.
func AppendJSON(e *Entry, b []byte) []byte { return e.appendJSON(b) }
