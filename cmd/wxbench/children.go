package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process wxbench started and stops.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string // its stderr (and stdout unless captured)
	done chan struct{}
	err  error // Wait's result, once done is closed
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// tail is the end of the child's log, for error messages.
func (c *child) tail() string {
	data, _ := os.ReadFile(c.log)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return strings.TrimSpace(string(data))
}

// children are every process of a run; stopAll ends them (the run's
// deferred clean-up and the signal handler both call it).
type children struct {
	dir  string
	mu   sync.Mutex
	list []*child
}

// start runs bin with args and env (nil: this process's environment),
// stdout and stderr going to a log file in the run's folder. The child is
// killed by the kernel should wxbench die without stopping it.
func (cs *children) start(name, bin string, env []string, args ...string) (*child, error) {
	logPath := filepath.Join(cs.dir, fmt.Sprintf("%s-%d.log", name, len(cs.list)))
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = cs.dir // no ./wxbot.yaml or other stray files picked up
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	cs.mu.Lock()
	cs.list = append(cs.list, c)
	cs.mu.Unlock()
	return c, nil
}

// stop ends one child: SIGTERM, then SIGKILL after a grace period.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// stopAll stops every child, newest first, concurrently.
func (cs *children) stopAll() {
	cs.mu.Lock()
	list := cs.list
	cs.list = nil
	cs.mu.Unlock()
	var wg sync.WaitGroup
	for i := len(list) - 1; i >= 0; i-- {
		wg.Add(1)
		go func(c *child) { defer wg.Done(); c.stop(3 * time.Second) }(list[i])
	}
	wg.Wait()
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// waitListening waits until c accepts TCP connections on addr.
func waitListening(ctx context.Context, c *child, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return nil
		}
		if c.exited() {
			return fmt.Errorf("%s exited (%v) before listening on %s:\n%s", c.name, c.err, addr, c.tail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not listening on %s after %s:\n%s", c.name, addr, within, c.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runCaptured runs a child to its end and returns its standard output.
func (cs *children) runCaptured(ctx context.Context, name, bin string, env []string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	logPath := filepath.Join(cs.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = cs.dir
	cmd.Stdout, cmd.Stderr = &out, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	if err := cmd.Run(); err != nil {
		data, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("%s: %w\n%s", name, err, strings.TrimSpace(string(data)))
	}
	return out.Bytes(), nil
}

// wxbotEnv is this process's environment without WXBOT_* variables (the
// run's configuration file says everything), plus extra.
func wxbotEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WXBOT_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
