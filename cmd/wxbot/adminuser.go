package main

// wxbot admin hash-password: the bcrypt hash an admin.users entry holds.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
)

// adminHashCost is the bcrypt cost of new hashes (about 0.2 s per login
// on a small server: slow for a guesser, unnoticed by an editor).
const adminHashCost = 12

// minPasswordLen is the shortest password hash-password accepts.
const minPasswordLen = 10

func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage the editors' logins to /admin",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newHashPasswordCmd())
	return cmd
}

func newHashPasswordCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "hash-password",
		Short: "Print the bcrypt hash of a password read from stdin, for admin.users",
		Long: `hash-password reads one password from standard input (the first line; it is
never an argument, so it stays out of the shell history and the process
list) and prints its bcrypt hash. Put the hash under the editor's name in
admin.users:

  admin:
    users:
      lin: "$2a$12$…"

Passwords are at least 10 characters.`,
		Example: `  wxbot admin hash-password < /dev/tty
  printf '%s\n' "$PASSWORD" | wxbot admin hash-password`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return usageError(cmd, err)
			}
			hash, err := bcrypt.GenerateFromPassword([]byte(pw), adminHashCost)
			if err != nil {
				return fmt.Errorf("wxbot admin hash-password: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(hash))
			return nil
		},
	}
}

func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	switch {
	case len(pw) < minPasswordLen:
		return "", fmt.Errorf("the password on stdin is shorter than %d characters", minPasswordLen)
	case len(pw) > 72:
		return "", errors.New("the password on stdin is longer than 72 bytes (bcrypt's limit)")
	}
	return pw, nil
}
