package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// newHealthcheckCmd is a probe for images without a shell or curl (the
// distroless image): Docker's HEALTHCHECK and compose run it inside the
// container.
func newHealthcheckCmd() *cobra.Command {
	var (
		url     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "Probe a running wxbot serve (exit 0 when it answers 200)",
		Long: `healthcheck GETs URL — by default /healthz of the serve this configuration
describes (http.addr on 127.0.0.1) — and exits 0 when the answer is 200, 1
otherwise, printing the answer. For container health checks in images with
no shell or curl: HEALTHCHECK CMD ["wxbot", "healthcheck"]. Use
--url http://127.0.0.1:8080/readyz to probe readiness instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" {
				cfg, err := loadConfig(cmd, map[string]string{})
				if err != nil {
					return err
				}
				_, port, err := net.SplitHostPort(cfg.HTTP.Addr)
				if err != nil {
					return &exitError{code: 2, msg: fmt.Sprintf("wxbot healthcheck: http.addr %q: %v", cfg.HTTP.Addr, err)}
				}
				url = "http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return &exitError{code: 2, msg: "wxbot healthcheck: " + err.Error()}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return &exitError{code: 1, msg: "wxbot healthcheck: " + err.Error()}
			}
			defer resp.Body.Close()
			var body [512]byte
			n, _ := resp.Body.Read(body[:])
			fmt.Fprintf(cmd.OutOrStdout(), "%d %s", resp.StatusCode, body[:n])
			if resp.StatusCode != http.StatusOK {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "what to probe (default: http://127.0.0.1:<port of http.addr>/healthz)")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "give up after this long")
	return cmd
}
