package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestAMistypedSubcommandOrALeftOverArgumentIsAUsageError(t *testing.T) {
	// A context that has already ended: should run() start a server by
	// mistake, it returns at once instead of serving.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	env := func(string) string { return "" }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a mistyped doctor", []string{"doctr"}, `unknown command "doctr"`},
		{"a mistyped sim", []string{"simm"}, `unknown command "simm"`},
		{"a word after the flags", []string{"-addr", "127.0.0.1:0", "serve"}, `unknown command "serve"`},
		{"a word after sim", []string{"sim", "extra-arg"}, `unknown command "extra-arg" after sim`},
		{"a word after sim's flags", []string{"sim", "-listen", "127.0.0.1:0", "extra"}, `unknown command "extra" after sim`},
		{"a word after doctor", []string{"doctor", "extra"}, `unknown command "extra"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(ctx, tc.args, env, &out)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "usage: switchboard") {
				t.Fatalf("run(%q) = %v, want a usage error with %q", tc.args, err, tc.want)
			}
			if got := exitCode(err); got != 2 {
				t.Errorf("exit code %d, want 2", got)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing (main writes the error to stderr)", out.String())
			}
		})
	}
	t.Run("exit codes for no error, -h and a failure", func(t *testing.T) {
		if exitCode(nil) != 0 || exitCode(flag.ErrHelp) != 0 || exitCode(errors.New("listen: address in use")) != 1 {
			t.Errorf("exit codes %d %d %d, want 0 0 1", exitCode(nil), exitCode(flag.ErrHelp), exitCode(errors.New("x")))
		}
	})
}
