package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrDockerfile marks a Dockerfile whose final stage mkimage cannot
// reproduce without Docker.
var ErrDockerfile = errors.New("unsupported Dockerfile")

// copyStep is one COPY of the final stage.
type copyStep struct {
	From string // the --from stage; empty: the build context
	Src  string
	Dst  string
	Line int
}

// stage is what the Dockerfile's final stage puts into the image. mkimage
// reads it from the Dockerfile rather than keeping its own list, so `make
// image` and `docker build` cannot disagree on paths, user or entrypoint.
type stage struct {
	Copies     []copyStep
	User       string
	Entrypoint []string
	Cmd        []string
}

// parseFinalStage reads the last FROM's instructions. Only what a FROM
// scratch image of static files needs is accepted; anything else is an
// error naming file:line, never silently skipped.
func parseFinalStage(r io.Reader, name string) (stage, error) {
	lines, err := instructions(r)
	if err != nil {
		return stage{}, fmt.Errorf("%s: %w", name, err)
	}
	last := -1
	for i, in := range lines {
		if in.keyword == "FROM" {
			last = i
		}
	}
	if last < 0 {
		return stage{}, fmt.Errorf("%w: %s: no FROM", ErrDockerfile, name)
	}
	if base := strings.Fields(lines[last].args); len(base) != 1 || base[0] != "scratch" {
		return stage{}, fmt.Errorf("%w: %s:%d: final stage FROM %s: only FROM scratch can be built without Docker",
			ErrDockerfile, name, lines[last].line, lines[last].args)
	}
	var st stage
	for _, in := range lines[last+1:] {
		if err := st.apply(in); err != nil {
			return stage{}, fmt.Errorf("%w: %s:%d: %w", ErrDockerfile, name, in.line, err)
		}
	}
	return st, nil
}

func (st *stage) apply(in instruction) error {
	switch in.keyword {
	case "COPY":
		c, err := parseCopy(in)
		if err != nil {
			return err
		}
		st.Copies = append(st.Copies, c)
	case "USER":
		st.User = in.args
	case "ENTRYPOINT", "CMD":
		var argv []string
		if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
			return fmt.Errorf("%s %s: want the JSON (exec) form, a scratch image has no shell", in.keyword, in.args)
		}
		if in.keyword == "CMD" {
			st.Cmd = argv
		} else {
			st.Entrypoint = argv
		}
	default:
		return fmt.Errorf("instruction %s is not supported by mkimage", in.keyword)
	}
	return nil
}

func parseCopy(in instruction) (copyStep, error) {
	c := copyStep{Line: in.line}
	var rest []string
	for _, f := range strings.Fields(in.args) {
		if from, ok := strings.CutPrefix(f, "--from="); ok {
			c.From = from
			continue
		}
		if strings.HasPrefix(f, "--") {
			return c, fmt.Errorf("COPY option %s is not supported by mkimage", f)
		}
		rest = append(rest, f)
	}
	if len(rest) != 2 {
		return c, fmt.Errorf("COPY %s: want one source and one destination", in.args)
	}
	c.Src, c.Dst = rest[0], rest[1]
	return c, nil
}

type instruction struct {
	keyword string // upper case
	args    string
	line    int // where the instruction starts
}

// instructions splits a Dockerfile into instructions: comments dropped,
// backslash continuations joined.
func instructions(r io.Reader) ([]instruction, error) {
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		body, more := strings.CutSuffix(line, "\\")
		cur.WriteString(body)
		if more {
			cur.WriteString(" ")
			continue
		}
		kw, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{keyword: strings.ToUpper(kw), args: strings.TrimSpace(args), line: start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("%w: line %d: continuation at end of file", ErrDockerfile, start)
	}
	return out, nil
}
