package redistest

import "testing"

// aof makes a server write every change to an append-only file in its
// folder, synced on every write, so a kill loses nothing.
var aof = []string{"--appendonly", "yes", "--appendfsync", "always"}

// StartAOF is Start for a server that keeps its data across Stop and
// RestartAOF, as a production Redis with AOF persistence does: the
// outage tests take Redis away and bring it back with what it held.
func StartAOF(t testing.TB) *Server {
	t.Helper()
	s := Start(t)
	s.Stop()
	s.start(aof...)
	return s
}

// RestartAOF stops (kills) the server if it runs and starts it again on
// the same port and folder, replaying its append-only file.
func (s *Server) RestartAOF() {
	s.t.Helper()
	s.Stop()
	s.start(aof...)
}
