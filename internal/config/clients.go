package config

import (
	"fmt"
	"strings"
)

// Client is one client of token introspection.
type Client struct {
	ID     string
	Secret string
}

// MinClientSecret is the shortest introspection client secret accepted:
// 128 bits of hex or base64 text.
const MinClientSecret = 16

// parseClients reads INTROSPECTION_CLIENTS: "id:secret,id:secret".
func (c *Config) parseClients(name, v string) error {
	seen := map[string]bool{}
	for i, pair := range splitList(v) {
		id, secret, ok := strings.Cut(pair, ":")
		switch {
		case !ok || id == "" || secret == "":
			return fmt.Errorf("%s: client %d is not id:secret", name, i+1)
		case !printableASCII(id) || strings.ContainsAny(id, " "):
			return fmt.Errorf("%s: client %d's id must be printable ASCII without spaces", name, i+1)
		case len(secret) < MinClientSecret:
			return fmt.Errorf("%s: client %q's secret is %d bytes; at least %d are required (generate one with: openssl rand -hex 16)", name, id, len(secret), MinClientSecret)
		case seen[id]:
			return fmt.Errorf("%s: client %q is listed twice", name, id)
		}
		seen[id] = true
		c.IntrospectionClients = append(c.IntrospectionClients, Client{ID: id, Secret: secret})
	}
	return nil
}

// clientIDs shows the clients for the log, without their secrets.
func (c *Config) clientIDs() any {
	ids := []string{}
	for _, cl := range c.IntrospectionClients {
		ids = append(ids, cl.ID)
	}
	return ids
}
