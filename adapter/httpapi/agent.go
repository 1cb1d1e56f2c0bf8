package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/switchboard-cti/switchboard/adapter"
	"github.com/switchboard-cti/switchboard/pbx"
)

func (s *Server) agentRoutes(eg *echo.Group) {
	g := authedGroup{eg, s.authenticate}
	g.GET("/me", s.me)
	g.GET("/state", s.state)
	g.POST("/calls", s.makeCall)
	for _, op := range []adapter.CallOp{adapter.OpAnswer, adapter.OpClear, adapter.OpHold, adapter.OpRetrieve, adapter.OpTransfer, adapter.OpConference} {
		g.POST("/calls/:id/"+string(op), s.callOp(op))
	}
	g.POST("/calls/:id/consult", s.consult)
	g.POST("/calls/:id/redirect", s.redirect)
	g.POST("/calls/:id/dtmf", s.dtmf)
	g.POST("/calls/:id/account-code", s.code("account"))
	g.POST("/calls/:id/classification-code", s.code("classification"))
	g.PUT("/calls/:id/log", s.putLog)
	g.POST("/calls/:id/wrap-up", s.wrapUp)
	g.PUT("/device/dnd", s.dnd)
	g.PUT("/device/make-busy", s.makeBusy)
	g.POST("/device/work-timer/cancel", s.cancelWorkTimer)
	g.POST("/device/acd-login", s.acdLogin)
	g.POST("/device/acd-logout", s.phoneLogout)
	g.POST("/device/hotdesk-login", s.hotDeskLogin)
	g.POST("/device/hotdesk-logout", s.phoneLogout)
	g.GET("/search", s.search)
	g.GET("/history", s.history)
	g.GET("/settings", s.getSettings)
	g.PUT("/settings", s.putSettings)
	g.GET("/favorites", s.favorites)
	g.POST("/favorites", s.addFavorite)
	g.DELETE("/favorites/:fid", s.removeFavorite)
}

// authedGroup registers routes behind the session check.
type authedGroup struct {
	g    *echo.Group
	auth echo.MiddlewareFunc
}

func (a authedGroup) GET(p string, h echo.HandlerFunc)    { a.g.GET(p, h, a.auth) }
func (a authedGroup) POST(p string, h echo.HandlerFunc)   { a.g.POST(p, h, a.auth) }
func (a authedGroup) PUT(p string, h echo.HandlerFunc)    { a.g.PUT(p, h, a.auth) }
func (a authedGroup) DELETE(p string, h echo.HandlerFunc) { a.g.DELETE(p, h, a.auth) }

type meResponse struct {
	Agent     adapter.Agent `json:"agent"`
	CanLogOut bool          `json:"canLogOut"`
	Codes     any           `json:"codes"`
	// Capabilities says which commands the phone system can do
	// (pbx.Capable); the softphone hides the others.
	Capabilities map[pbx.Command]bool `json:"capabilities"`
}

// capabilities of sw: its own list when it has one, else every command.
func capabilities(sw pbx.Switch) map[pbx.Command]bool {
	if c, ok := sw.(pbx.Capable); ok {
		return c.Capabilities()
	}
	all := map[pbx.Command]bool{}
	for _, c := range []pbx.Command{pbx.CmdMakeCall, pbx.CmdAnswer, pbx.CmdClear, pbx.CmdHold, pbx.CmdRetrieve, pbx.CmdConsult,
		pbx.CmdTransfer, pbx.CmdConference, pbx.CmdRedirect, pbx.CmdDTMF, pbx.CmdDND, pbx.CmdMakeBusy, pbx.CmdACDLogin,
		pbx.CmdHotDeskLogin, pbx.CmdWorkTimer, pbx.CmdAccountCode, pbx.CmdClassification} {
		all[c] = true
	}
	return all
}

func (s *Server) me(c *echo.Context) error {
	ag := agentOf(c)
	codes, err := s.cfg.Service.Switch.Codes(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, meResponse{Agent: ag, CanLogOut: ag.CanLogOut(), Codes: codes, Capabilities: capabilities(s.cfg.Service.Switch)})
}

func (s *Server) state(c *echo.Context) error {
	st, err := s.cfg.Service.CurrentState(c.Request().Context(), agentOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

type numberBody struct {
	Number string `json:"number"`
}

type idResponse struct {
	ID string `json:"id"`
}

// makeCallBody is POST /api/v1/calls: {"number", "record"?}; record is
// the Salesforce record clicked to dial (click-to-dial): {"recordId",
// "objectType", "name"}.
type makeCallBody struct {
	Number string                `json:"number"`
	Record *adapter.DialedRecord `json:"record"`
}

func (s *Server) makeCall(c *echo.Context) error {
	var b makeCallBody
	if err := decode(c, &b); err != nil {
		return err
	}
	var id string
	var err error
	if b.Record != nil {
		id, err = s.cfg.Service.MakeCallFor(c.Request().Context(), agentOf(c), b.Number, *b.Record)
	} else {
		id, err = s.cfg.Service.MakeCall(c.Request().Context(), agentOf(c), b.Number)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, idResponse{ID: id})
}

func (s *Server) callOp(op adapter.CallOp) echo.HandlerFunc {
	return func(c *echo.Context) error {
		if err := s.cfg.Service.CallCommand(c.Request().Context(), agentOf(c), c.Param("id"), op); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

func (s *Server) consult(c *echo.Context) error {
	var b numberBody
	if err := decode(c, &b); err != nil {
		return err
	}
	id, err := s.cfg.Service.Consult(c.Request().Context(), agentOf(c), c.Param("id"), b.Number)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, idResponse{ID: id})
}

func (s *Server) redirect(c *echo.Context) error {
	var b numberBody
	if err := decode(c, &b); err != nil {
		return err
	}
	if err := s.cfg.Service.Redirect(c.Request().Context(), agentOf(c), c.Param("id"), b.Number); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) dtmf(c *echo.Context) error {
	var b struct {
		Digits string `json:"digits"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	if err := s.cfg.Service.SendDTMF(c.Request().Context(), agentOf(c), c.Param("id"), b.Digits); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) code(kind string) echo.HandlerFunc {
	return func(c *echo.Context) error {
		var b struct {
			Code string `json:"code"`
		}
		if err := decode(c, &b); err != nil {
			return err
		}
		if err := s.cfg.Service.SetCode(c.Request().Context(), agentOf(c), c.Param("id"), kind, b.Code); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
}

func (s *Server) putLog(c *echo.Context) error {
	var b adapter.LogInput
	if err := decode(c, &b); err != nil {
		return err
	}
	rec, err := s.cfg.Service.UpdateLog(c.Request().Context(), agentOf(c), c.Param("id"), b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rec)
}

func (s *Server) wrapUp(c *echo.Context) error {
	var b struct {
		Action string `json:"action"`
	}
	if c.Request().ContentLength != 0 {
		if err := decode(c, &b); err != nil {
			return err
		}
	}
	rec, err := s.cfg.Service.WrapUp(c.Request().Context(), agentOf(c), c.Param("id"), b.Action)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rec)
}

func (s *Server) dnd(c *echo.Context) error {
	var b struct {
		On *bool `json:"on"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.On == nil {
		return errMissing("on")
	}
	if err := s.cfg.Service.SetDND(c.Request().Context(), agentOf(c), *b.On); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) makeBusy(c *echo.Context) error {
	var b struct {
		On     *bool  `json:"on"`
		Reason string `json:"reason"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.On == nil {
		return errMissing("on")
	}
	if err := s.cfg.Service.SetMakeBusy(c.Request().Context(), agentOf(c), *b.On, b.Reason); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) cancelWorkTimer(c *echo.Context) error {
	if err := s.cfg.Service.CancelWorkTimer(c.Request().Context(), agentOf(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) acdLogin(c *echo.Context) error {
	var b struct {
		AgentID string `json:"agentId"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	ag, err := s.cfg.Service.ACDLogin(c.Request().Context(), agentOf(c), b.AgentID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ag)
}

func (s *Server) hotDeskLogin(c *echo.Context) error {
	var b struct {
		Extension string `json:"extension"`
		PIN       string `json:"pin"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	ag, err := s.cfg.Service.HotDeskLogin(c.Request().Context(), agentOf(c), b.Extension, b.PIN)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ag)
}

func (s *Server) phoneLogout(c *echo.Context) error {
	ag, err := s.cfg.Service.PhoneLogout(c.Request().Context(), agentOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ag)
}

func (s *Server) search(c *echo.Context) error {
	res, err := s.cfg.Service.Search(c.Request().Context(), agentOf(c), c.QueryParam("q"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"results": res})
}

func (s *Server) history(c *echo.Context) error {
	es, err := s.cfg.Service.History(c.Request().Context(), agentOf(c), c.QueryParam("list"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": es})
}

func (s *Server) getSettings(c *echo.Context) error {
	st, err := s.cfg.Service.Settings(c.Request().Context(), agentOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) putSettings(c *echo.Context) error {
	// A partial body changes only the fields it names (UpdateSettings).
	st, err := s.cfg.Service.UpdateSettings(c.Request().Context(), agentOf(c), func(st *adapter.Settings) error { return decode(c, st) })
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (s *Server) favorites(c *echo.Context) error {
	fs, err := s.cfg.Service.Favorites(c.Request().Context(), agentOf(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"favorites": fs})
}

func (s *Server) addFavorite(c *echo.Context) error {
	var f adapter.Favorite
	if err := decode(c, &f); err != nil {
		return err
	}
	f, err := s.cfg.Service.AddFavorite(c.Request().Context(), agentOf(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, f)
}

func (s *Server) removeFavorite(c *echo.Context) error {
	if err := s.cfg.Service.RemoveFavorite(c.Request().Context(), agentOf(c), c.Param("fid")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
