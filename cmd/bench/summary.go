package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"unicode/utf8"
)

// width is the most columns a line the command prints takes.
const width = 100

// lineHandler prints each log record as one short line a person reads while the harness runs ("bench: step
// cold start"), not JSON: the report, not the log, is the command's product.
type lineHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	attrs []slog.Attr
}

func newLineHandler(w io.Writer) *lineHandler { return &lineHandler{mu: &sync.Mutex{}, w: w} }

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("bench: " + r.Message)
	add := func(a slog.Attr) bool {
		v := a.Value.String()
		if a.Key == "name" {
			fmt.Fprintf(&b, " %s", v)
		} else {
			fmt.Fprintf(&b, " %s=%s", a.Key, v)
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, cut(b.String(), width))
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{mu: h.mu, w: h.w, attrs: append(append([]slog.Attr{}, h.attrs...), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// summary is the report's goals table as short lines ("result  goal: measured"), each at most width columns:
// what a person wants to see at the end of a run, the whole report being in the file.
func summary(report []byte) []string {
	var lines []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(report))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "## "):
			in = l == "## Goals"
		case in && strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| goal |"):
			cells := strings.Split(strings.Trim(l, "| "), " | ")
			if len(cells) != 4 {
				continue
			}
			lines = append(lines, cut(fmt.Sprintf("%-5s %s: %s (goal %s)", strings.ToUpper(firstWord(cells[3])),
				cells[0], cells[2], cells[1]), width))
		}
	}
	return lines
}

func firstWord(s string) string {
	f, _, _ := strings.Cut(strings.Trim(s, "*"), " ")
	return strings.Trim(f, "*:")
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
