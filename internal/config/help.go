package config

import (
	"flag"
	"slices"
	"strings"
)

// Help documents the named variables, or every variable when none is
// named, each with its default, for the --help of a command that reads
// them.
func Help(names ...string) string {
	var b strings.Builder
	b.WriteString("Environment (also read from a .env file in the working directory; real\n" +
		"environment variables win):\n")
	for _, s := range table(new(Config)) {
		if len(names) == 0 || slices.Contains(names, s.name) {
			writeEntry(&b, s.name, plain(s.help+" (default: "+s.defaultText()+")"))
		}
	}
	return b.String()
}

// Only returns getenv restricted to the named variables: the others read
// as unset, so they take their defaults. A command that reads a few
// variables is not stopped by an invalid one it ignores.
func Only(getenv func(string) string, names ...string) func(string) string {
	return func(k string) string {
		if slices.Contains(names, k) {
			return getenv(k)
		}
		return ""
	}
}

// Names lists every variable, in the order of the table.
func Names() []string {
	var names []string
	for _, s := range table(new(Config)) {
		names = append(names, s.name)
	}
	return names
}

// defaultText describes the default in README.md's words: the value, or
// the values by environment where they differ.
func (s setting) defaultText() string {
	if s.def == nil {
		return s.unset
	}
	var vals []string
	envs := map[string][]string{}
	for _, env := range environments {
		v := s.def(env)
		if envs[v] == nil {
			vals = append(vals, v)
		}
		envs[v] = append(envs[v], env)
	}
	if len(vals) == 1 {
		return "`" + vals[0] + "`"
	}
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = "`" + v + "` " + strings.Join(envs[v], "/")
	}
	return strings.Join(parts, ", ")
}

func plain(s string) string { return strings.ReplaceAll(s, "`", "") }

// writeEntry writes one variable and its text, wrapped to 80 columns.
func writeEntry(b *strings.Builder, name, text string) {
	const indent, width = 22, 80
	line := "  " + name + strings.Repeat(" ", max(1, indent-2-len(name)))
	if len(line) > indent {
		// A name too long for the column has its text on the next line.
		b.WriteString(strings.TrimRight(line, " ") + "\n")
		line = strings.Repeat(" ", indent)
	}
	n := 0
	for _, word := range strings.Fields(text) {
		if n > 0 && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line, n = strings.Repeat(" ", indent), 0
		}
		if n > 0 {
			line += " "
		}
		line += word
		n++
	}
	b.WriteString(line + "\n")
}

// AddFlags defines on fs the flag of each variable named that has one, or
// of every variable that has one when none is named. Their values are read
// through WithFlags.
func AddFlags(fs *flag.FlagSet, names ...string) {
	for _, s := range table(new(Config)) {
		if s.flag != "" && (len(names) == 0 || slices.Contains(names, s.name)) {
			fs.String(s.flag, "", plain(s.help)+" ("+s.name+")")
		}
	}
}

// WithFlags returns getenv with the flags of AddFlags that were set on fs's
// command line in front of their variables.
func WithFlags(fs *flag.FlagSet, getenv func(string) string) func(string) string {
	names := map[string]string{}
	for _, s := range table(new(Config)) {
		if s.flag != "" {
			names[s.flag] = s.name
		}
	}
	set := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if name, ok := names[f.Name]; ok {
			set[name] = f.Value.String()
		}
	})
	return func(k string) string {
		if v, ok := set[k]; ok {
			return v
		}
		return getenv(k)
	}
}
