package newsletter

import "fmt"

// ParseError is a problem in an issue file, located at a line, phrased for
// the editor who has to fix the file rather than for a programmer.
type ParseError struct {
	File string
	Line int
	Msg  string
	// Where, when set, locates the problem instead of Line: "paragraph 37"
	// in a Word document (Line then holds the paragraph's number).
	Where string
}

// Error formats the problem as FILE:LINE: message, the form editors and
// their tools (and the CLI's callers) expect.
func (e *ParseError) Error() string {
	if e.Where != "" {
		return fmt.Sprintf("%s: %s: %s", e.File, e.Where, e.Msg)
	}
	if e.Line == 0 {
		// The file as a whole (a Word file that cannot be read).
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Warning is something odd in an issue file that did not stop the parse:
// text that was ignored, a date that disagrees between the languages, and so on.
type Warning struct {
	File  string
	Line  int
	Msg   string
	Where string // as in ParseError
}

// String formats the warning as FILE:LINE: warning: message.
func (w Warning) String() string {
	if w.Where != "" {
		return fmt.Sprintf("%s: %s: warning: %s", w.File, w.Where, w.Msg)
	}
	return fmt.Sprintf("%s:%d: warning: %s", w.File, w.Line, w.Msg)
}
