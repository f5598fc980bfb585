package bustest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// logRecorder keeps the log lines of a node, to check that refusals are
// logged with what an operator needs to find the message.
type logRecorder struct {
	mu    sync.Mutex
	lines []logLine
}

type logLine struct {
	msg   string
	attrs map[string]string
}

func (r *logRecorder) logger() *slog.Logger { return slog.New(&recordHandler{r: r}) }

// has reports whether a line's message contains msg and its attributes hold
// the given key, value pairs.
func (r *logRecorder) has(msg string, kv ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for _, l := range r.lines {
		if !strings.Contains(l.msg, msg) {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if l.attrs[kv[i]] != kv[i+1] {
				continue next
			}
		}
		return true
	}
	return false
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, l := range r.lines {
		fmt.Fprintf(&b, "  %s %v\n", l.msg, l.attrs)
	}
	return b.String()
}

type recordHandler struct {
	r     *logRecorder
	attrs []slog.Attr
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordHandler) Handle(_ context.Context, rec slog.Record) error {
	l := logLine{msg: rec.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		l.attrs[a.Key] = a.Value.String()
	}
	rec.Attrs(func(a slog.Attr) bool {
		l.attrs[a.Key] = a.Value.String()
		return true
	})
	h.r.mu.Lock()
	h.r.lines = append(h.r.lines, l)
	h.r.mu.Unlock()
	return nil
}

func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &recordHandler{r: h.r, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

func (h *recordHandler) WithGroup(string) slog.Handler { return h }
