package asterisk

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// ClientConfig configures the AMI link. Zero durations take the defaults.
type ClientConfig struct {
	// Addr is host:port of the Asterisk Manager Interface (manager.conf
	// [general] bindaddr/port, 5038 by default; 5039 for TLS).
	Addr string
	// Username and Secret are a manager.conf user section and its secret.
	Username, Secret string
	// MD5 logs in with the MD5 challenge (Action: Challenge, AuthType:
	// MD5) so the secret never crosses the wire.
	MD5 bool
	// TLS, when set, wraps the connection (manager.conf tlsenable).
	TLS *tls.Config
	// Events is the Login "Events" mask; default "on" (every class the
	// user's read= allows).
	Events string
	// PingInterval: a keep-alive Ping is sent this often; a Ping not
	// answered within ActionTimeout drops the link (default 20s).
	PingInterval time.Duration
	// ActionTimeout bounds one Action when the caller's ctx has no
	// deadline (default 10s).
	ActionTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnects; it
	// doubles from Min after each failure (default 250ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// MaxQueued events may wait for the consumer; beyond it the queue is
	// dropped and the consumer is told to resync (default 65536).
	MaxQueued int
	// Dial opens the TCP connection (default net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	Log  zerolog.Logger
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.Events == "" {
		c.Events = "on"
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 20 * time.Second
	}
	if c.ActionTimeout <= 0 {
		c.ActionTimeout = 10 * time.Second
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 250 * time.Millisecond
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxQueued <= 0 {
		c.MaxQueued = 65536
	}
	if c.Dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		c.Dial = d.DialContext
	}
	return c
}

// Handler receives what the link reports, from one goroutine, in order.
type Handler interface {
	// Connected runs after every successful login, before any event read
	// after it is delivered: the place to resync state with actions.
	// Events arriving meanwhile wait in the queue.
	Connected(ctx context.Context, banner string)
	// Event delivers one AMI event that is not part of a list action.
	Event(m Message)
	// Disconnected reports the link went down (err says why).
	Disconnected(err error)
}

// Client is an AMI connection that logs in, matches responses to actions
// by ActionID, collects list actions, keeps the link alive with Ping and
// reconnects with back-off. Create it with NewClient and start it with Run.
type Client struct {
	cfg ClientConfig
	h   Handler

	seq    atomic.Uint64
	prefix string

	mu      sync.Mutex
	conn    net.Conn
	up      bool // logged in
	banner  string
	pending map[string]*pending
	wmu     sync.Mutex // one writer at a time

	qmu    sync.Mutex
	queue  []item
	signal chan struct{}
}

type item struct {
	msg       Message
	connected bool
	down      error
	banner    string
}

type pending struct {
	list   bool
	resp   Message
	gotR   bool
	events []Message
	done   chan error
}

// ErrDown is returned by actions while the link is not logged in; it
// wraps pbx-neutral text and is mapped to pbx.ErrUnavailable by the Driver.
var ErrDown = errors.New("ami: link down")

// NewClient returns a client for cfg delivering to h.
func NewClient(cfg ClientConfig, h Handler) *Client {
	return &Client{
		cfg: cfg.withDefaults(), h: h,
		prefix:  "sb-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "-",
		pending: map[string]*pending{},
		signal:  make(chan struct{}, 1),
	}
}

// Up reports whether the link is logged in, and the banner's AMI version.
func (c *Client) Up() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.up, c.banner
}

// Run connects, logs in and serves until ctx ends, reconnecting with
// back-off whenever the link drops. It returns ctx's error.
func (c *Client) Run(ctx context.Context) error {
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.dispatch(dctx) }()
	defer wg.Wait()

	backoff := c.cfg.MinBackoff
	for {
		err := c.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errLoggedIn) {
			backoff = c.cfg.MinBackoff
		}
		c.cfg.Log.Warn().Err(err).Str("ami_addr", c.cfg.Addr).Dur("retry_in", backoff).Msg("AMI link down")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, c.cfg.MaxBackoff)
	}
}

// errLoggedIn wraps the error that ended a session that had logged in
// (the back-off starts over after it).
var errLoggedIn = errors.New("after login")

// session runs one connection until it fails.
func (c *Client) session(ctx context.Context) error {
	conn, err := c.cfg.Dial(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ami: dial %s: %w", c.cfg.Addr, err)
	}
	if c.cfg.TLS != nil {
		tc := tls.Client(conn, c.cfg.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("ami: tls %s: %w", c.cfg.Addr, err)
		}
		conn = tc
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(sctx, func() { conn.Close() })
	defer stop()

	r := NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(c.cfg.ActionTimeout))
	banner, err := r.ReadBanner()
	if err != nil {
		conn.Close()
		return fmt.Errorf("ami: %s: %w", c.cfg.Addr, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	c.mu.Lock()
	c.conn = conn
	c.banner = banner
	c.mu.Unlock()

	readErr := make(chan error, 1)
	go func() { readErr <- c.read(r) }()
	fail := func(err error) error {
		conn.Close()
		<-readErr
		c.drop(err)
		return err
	}

	if err := c.login(sctx); err != nil {
		return fail(err)
	}
	c.mu.Lock()
	c.up = true
	c.mu.Unlock()
	c.cfg.Log.Info().Str("ami_addr", c.cfg.Addr).Str("ami_version", banner).Msg("AMI link up")
	c.push(item{connected: true, banner: banner})

	tick := time.NewTicker(c.cfg.PingInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-readErr:
			readErr <- err
			return fmt.Errorf("%w: %w", errLoggedIn, fail(err))
		case <-sctx.Done():
			return fail(sctx.Err())
		case <-tick.C:
			pctx, pcancel := context.WithTimeout(sctx, c.cfg.ActionTimeout)
			_, err := c.Action(pctx, NewAction("Ping"))
			pcancel()
			if err != nil {
				return fmt.Errorf("%w: %w", errLoggedIn, fail(fmt.Errorf("ami: keep-alive ping: %w", err)))
			}
		}
	}
}

func (c *Client) login(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, c.cfg.ActionTimeout)
	defer cancel()
	login := NewAction("Login", "Username", c.cfg.Username)
	if c.cfg.MD5 {
		ch, err := c.send(lctx, NewAction("Challenge", "AuthType", "MD5"), false)
		if err != nil {
			return fmt.Errorf("ami: md5 challenge: %w", err)
		}
		sum := md5.Sum([]byte(ch.resp.Get("Challenge") + c.cfg.Secret))
		login.Add("AuthType", "MD5")
		login.Add("Key", hex.EncodeToString(sum[:]))
	} else {
		login.Add("Secret", c.cfg.Secret)
	}
	login.Add("Events", c.cfg.Events)
	if _, err := c.send(lctx, login, false); err != nil {
		return fmt.Errorf("ami: login as %q: %w", c.cfg.Username, err)
	}
	return nil
}

// read routes every message until the connection fails.
func (c *Client) read(r *Reader) error {
	for {
		m, err := r.ReadMessage()
		if err != nil {
			return fmt.Errorf("ami: read: %w", err)
		}
		c.route(m)
	}
}

func (c *Client) route(m Message) {
	id := m.ActionID()
	if id != "" {
		c.mu.Lock()
		p := c.pending[id]
		if p != nil {
			if m.IsResponse() && !p.gotR {
				p.resp, p.gotR = m, true
				if !p.list || m.Err() != nil || !strings.EqualFold(m.Get("EventList"), "start") && !strings.Contains(strings.ToLower(m.Get("Message")), "follow") {
					delete(c.pending, id)
					p.done <- m.Err()
				}
				c.mu.Unlock()
				return
			}
			if p.list && m.Event() != "" {
				if strings.EqualFold(m.Get("EventList"), "Complete") || strings.HasSuffix(m.Event(), "Complete") {
					delete(c.pending, id)
					p.done <- nil
				} else {
					p.events = append(p.events, m)
				}
				c.mu.Unlock()
				return
			}
		}
		c.mu.Unlock()
	}
	if m.Event() != "" {
		c.push(item{msg: m})
	}
}

// push queues an item for the consumer without ever blocking the reader.
func (c *Client) push(it item) {
	c.qmu.Lock()
	if len(c.queue) >= c.cfg.MaxQueued && it.down == nil && !it.connected {
		// The consumer is too slow: drop what waits and resync instead.
		c.cfg.Log.Warn().Int("queued", len(c.queue)).Msg("AMI consumer too slow; dropping queued events and resyncing")
		c.queue = append(c.queue[:0], item{connected: true})
	} else {
		c.queue = append(c.queue, it)
	}
	c.qmu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *Client) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.signal:
		}
		for {
			c.qmu.Lock()
			if len(c.queue) == 0 {
				c.queue = nil
				c.qmu.Unlock()
				break
			}
			it := c.queue[0]
			c.queue[0] = item{}
			c.queue = c.queue[1:]
			c.qmu.Unlock()
			switch {
			case it.connected:
				c.h.Connected(ctx, it.banner)
			case it.down != nil:
				c.h.Disconnected(it.down)
			default:
				c.h.Event(it.msg)
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// drop fails every pending action and tells the consumer.
func (c *Client) drop(err error) {
	c.mu.Lock()
	wasUp := c.up
	c.up = false
	c.conn = nil
	for id, p := range c.pending {
		delete(c.pending, id)
		p.done <- fmt.Errorf("%w: %w", ErrDown, err)
	}
	c.mu.Unlock()
	if wasUp {
		c.push(item{down: err})
	}
}

// Action sends a and waits for its Response (matched by ActionID, which
// Action sets). It returns the response, a *ResponseError for "Response:
// Error", ErrDown while the link is down, or ctx's error.
func (c *Client) Action(ctx context.Context, a Message) (Message, error) {
	p, err := c.send(ctx, a, false)
	if err != nil {
		return p.resp, err
	}
	return p.resp, nil
}

// List sends a list action (one answered by "EventList: start", events,
// and a "...Complete" event) and returns the response and the events.
func (c *Client) List(ctx context.Context, a Message) (Message, []Message, error) {
	p, err := c.send(ctx, a, true)
	if err != nil {
		return p.resp, nil, err
	}
	return p.resp, p.events, nil
}

func (c *Client) send(ctx context.Context, a Message, list bool) (*pending, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.ActionTimeout)
		defer cancel()
	}
	id := c.prefix + strconv.FormatUint(c.seq.Add(1), 10)
	a.Set("ActionID", id)
	var buf bytes.Buffer
	if err := a.encode(&buf); err != nil {
		return &pending{}, err
	}
	p := &pending{list: list, done: make(chan error, 1)}
	c.mu.Lock()
	conn := c.conn
	if conn == nil {
		c.mu.Unlock()
		return p, fmt.Errorf("%s: %w", a.Get("Action"), ErrDown)
	}
	c.pending[id] = p
	c.mu.Unlock()

	c.wmu.Lock()
	_ = conn.SetWriteDeadline(time.Now().Add(c.cfg.ActionTimeout))
	_, err := conn.Write(buf.Bytes())
	c.wmu.Unlock()
	if err != nil {
		conn.Close() // the reader fails and the session reconnects
	}
	select {
	case err := <-p.done:
		if err != nil {
			return p, fmt.Errorf("%s: %w", a.Get("Action"), err)
		}
		return p, nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return p, fmt.Errorf("ami: %s: no response: %w", a.Get("Action"), ctx.Err())
	}
}

// Close drops the current connection (Run reconnects); for tests and for
// an operator's "reconnect now".
func (c *Client) Close() {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}
