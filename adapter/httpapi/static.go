package httpapi

import (
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-cti/switchboard/adapter"
)

// staticRoutes serves the softphone, and in demo mode the demo page that
// plays Salesforce and the stand-ins of Salesforce's Open CTI scripts.
func (s *Server) staticRoutes() {
	if s.cfg.Static == nil {
		return
	}
	e := s.echo
	e.GET("/softphone/config.json", s.softphoneConfig)
	if sub, err := fs.Sub(s.cfg.Static, "softphone"); err == nil {
		h := http.StripPrefix("/softphone/", http.FileServerFS(sub))
		e.GET("/softphone", func(c *echo.Context) error {
			return c.Redirect(http.StatusMovedPermanently, "/softphone/"+queryOf(c))
		})
		e.GET("/softphone/*", existing(sub, "/softphone/", echo.WrapHandler(noCache(h))))
	}
	if !s.cfg.Demo {
		return
	}
	if sub, err := fs.Sub(s.cfg.Static, "demo"); err == nil {
		files := http.FileServerFS(sub)
		e.GET("/", echo.WrapHandler(noCache(files)))
		e.GET("/demo/*", existing(sub, "/demo/", echo.WrapHandler(noCache(http.StripPrefix("/demo/", files)))))
	}
	serve := func(name string) echo.HandlerFunc {
		return func(c *echo.Context) error {
			b, err := fs.ReadFile(s.cfg.Static, name)
			if err != nil {
				return err
			}
			return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", b)
		}
	}
	e.GET("/support/api/:version/lightning/opencti_min.js", serve("opencti/lightning.js"))
	e.GET("/support/api/:version/interaction.js", serve("opencti/interaction.js"))
}

// softphoneConfig is what the softphone reads before it starts
// (GET /softphone/config.json, no session needed):
//
//	{"demo": bool, "publicUrl": "https://cti.example.com",
//	 "frameAncestors": ["'self'", "https://*.force.com", ...],
//	 "problem": {"code": "public_url_mismatch", "message": "..."}}
//
// frameAncestors are the origins allowed to frame the softphone (CSP
// frame-ancestors); the softphone also accepts them as the origin of the
// Open CTI script. problem is set when the softphone is reached under
// another origin than SWITCHBOARD_PUBLIC_URL (outside demo mode): sign-in
// would send the agent back to the other origin, so the page says so.
func (s *Server) softphoneConfig(c *echo.Context) error {
	r := c.Request()
	base := s.publicBase(r)
	out := map[string]any{"demo": s.cfg.Demo, "publicUrl": base, "frameAncestors": strings.Fields(s.cfg.FrameAncestors)}
	if got := requestBase(r); !s.cfg.Demo && !sameOrigin(got, base) {
		out["problem"] = errorBody{Code: "public_url_mismatch", Message: "This softphone was opened at " + got +
			" but Switchboard is set up for " + base + " (SWITCHBOARD_PUBLIC_URL): sign-in cannot finish here. " +
			"Use " + base + "/softphone/ as the call center's Adapter URL, or change SWITCHBOARD_PUBLIC_URL."}
		if _, seen := s.mismatches.LoadOrStore(got, true); !seen {
			s.cfg.Log.Warn().Str("requested", got).Str("public_url", base).
				Msg("softphone opened under another origin than SWITCHBOARD_PUBLIC_URL: sign-in will not finish there")
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// publicBase is the base URL the browser should come back to: in demo mode
// the one the request was made to (any host name and port), else
// PublicURL (or, when unset, the request's).
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.Demo || s.cfg.PublicURL == "" {
		return requestBase(r)
	}
	return strings.TrimSuffix(s.cfg.PublicURL, "/")
}

// requestBase is scheme://host of a request, as the browser sent it
// (X-Forwarded-Proto / X-Forwarded-Host from a proxy in front).
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = strings.TrimSpace(strings.Split(h, ",")[0])
	}
	return scheme + "://" + host
}

func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		if u.Scheme == "https" {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Hostname(), ub.Hostname()) && port(ua) == port(ub)
}

// mismatchLog remembers the origins already logged as mismatching.
type mismatchLog = sync.Map

func queryOf(c *echo.Context) string {
	if q := c.Request().URL.RawQuery; q != "" {
		return "?" + q
	}
	return ""
}

// existing answers a file missing from fsys under prefix with the JSON
// 404 every other path answers (http.FileServer's is plain text), and
// hands the rest to next.
func existing(fsys fs.FS, prefix string, next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		p := c.Request().URL.Path
		name := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(p, prefix)), "/")
		if name == "" {
			name = "."
		}
		if _, err := fs.Stat(fsys, name); err != nil {
			return fmt.Errorf("%s: no such file: %w", p, adapter.ErrNotFound)
		}
		return next(c)
	}
}

// noCache makes browsers revalidate the softphone's files, so an upgrade
// reaches every agent at the next load.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
