package adapter_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The layout of ../shared/STYLE.md: dependencies point inward.
func TestDependenciesPointInward(t *testing.T) {
	forbidden := map[string][]string{
		"./":           {"labstack/echo", "redis/go-redis", "coder/websocket", "/adapter/httpapi", "/adapter/redisstore", "/cmd/"},
		"./httpapi":    {"redis/go-redis", "/adapter/redisstore", "/adapter/flowapi", "/cmd/"},
		"./flowapi":    {"redis/go-redis", "/adapter/redisstore", "/adapter/httpapi", "/cmd/"},
		"./redisstore": {"labstack/echo", "coder/websocket", "/adapter/httpapi", "/cmd/"},
		"../pbx/...":   {"/adapter", "/salesforce", "/cmd/"},
		"../phone":     {"/adapter", "/salesforce", "/switchboard/pbx", "/cmd/", "labstack/echo", "redis/go-redis"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if strings.Contains(dep, b) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
