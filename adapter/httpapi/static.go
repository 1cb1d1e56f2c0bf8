package httpapi

import (
	"io/fs"
	"net/http"

	"github.com/labstack/echo/v5"
)

// staticRoutes serves the softphone, and in demo mode the demo page that
// plays Salesforce and the stand-ins of Salesforce's Open CTI scripts.
func (s *Server) staticRoutes() {
	if s.cfg.Static == nil {
		return
	}
	e := s.echo
	if sub, err := fs.Sub(s.cfg.Static, "softphone"); err == nil {
		h := http.StripPrefix("/softphone/", http.FileServerFS(sub))
		e.GET("/softphone", func(c *echo.Context) error {
			return c.Redirect(http.StatusMovedPermanently, "/softphone/"+queryOf(c))
		})
		e.GET("/softphone/*", echo.WrapHandler(noCache(h)))
	}
	if !s.cfg.Demo {
		return
	}
	if sub, err := fs.Sub(s.cfg.Static, "demo"); err == nil {
		files := http.FileServerFS(sub)
		e.GET("/", echo.WrapHandler(noCache(files)))
		e.GET("/demo/*", echo.WrapHandler(noCache(http.StripPrefix("/demo/", files))))
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

func queryOf(c *echo.Context) string {
	if q := c.Request().URL.RawQuery; q != "" {
		return "?" + q
	}
	return ""
}

// noCache makes browsers revalidate the softphone's files, so an upgrade
// reaches every agent at the next load.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}
