package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// credentials are the OS_* settings of an openrc.
type credentials struct {
	AuthURL           string // ends in /v3
	Username          string
	Password          string
	ProjectName       string
	UserDomainName    string
	ProjectDomainName string
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// credentialsFromEnv reads the usual OS_* variables; OS_AUTH_URL and
// OS_PASSWORD are required.
func credentialsFromEnv() (credentials, error) {
	c := credentials{
		AuthURL:           strings.TrimRight(os.Getenv("OS_AUTH_URL"), "/"),
		Username:          envOr("OS_USERNAME", "admin"),
		Password:          os.Getenv("OS_PASSWORD"),
		ProjectName:       envOr("OS_PROJECT_NAME", "admin"),
		UserDomainName:    envOr("OS_USER_DOMAIN_NAME", "Default"),
		ProjectDomainName: envOr("OS_PROJECT_DOMAIN_NAME", "Default"),
	}
	if c.AuthURL == "" || c.Password == "" {
		return c, fmt.Errorf("OS_AUTH_URL and OS_PASSWORD must be set (source the cloud's admin-openrc)")
	}
	if u, err := url.Parse(c.AuthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("OS_AUTH_URL %q is not an http(s) URL", c.AuthURL)
	}
	if !strings.HasSuffix(c.AuthURL, "/v3") {
		c.AuthURL += "/v3"
	}
	return c, nil
}

// passwordBody is POST /v3/auth/tokens with the password method and the
// project scope of the credentials.
func (c credentials) passwordBody() []byte {
	return mustJSON(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": c.Username, "password": c.Password,
				"domain": map[string]any{"name": c.UserDomainName}}}},
		"scope": map[string]any{"project": map[string]any{"name": c.ProjectName,
			"domain": map[string]any{"name": c.ProjectDomainName}}},
	}})
}

// unscopedPasswordBody is the password method with an explicitly unscoped token.
func (c credentials) unscopedPasswordBody() []byte {
	return mustJSON(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
			"user": map[string]any{"name": c.Username, "password": c.Password,
				"domain": map[string]any{"name": c.UserDomainName}}}},
		"scope": "unscoped",
	}})
}

// tokenMethodBody exchanges token for a new unscoped token (no password check).
func tokenMethodBody(token string) []byte {
	return mustJSON(map[string]any{"auth": map[string]any{
		"identity": map[string]any{"methods": []string{"token"}, "token": map[string]any{"id": token}},
		"scope":    "unscoped",
	}})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// newClient returns a client that keeps at least conc connections alive to the
// one host it talks to, and never goes through a proxy.
func newClient(conc int) *http.Client {
	idle := max(conc, 1) * 2
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        idle,
			MaxIdleConnsPerHost: idle,
			IdleConnTimeout:     90 * time.Second,
		},
		Timeout: 2 * time.Minute,
	}
}

// keystone talks to one identity endpoint.
type keystone struct {
	creds  credentials
	client *http.Client
	// issueQuery is appended to POST /v3/auth/tokens ("?nocatalog").
	issueQuery string
}

// issue does one POST /v3/auth/tokens and returns the new token.
func (k *keystone) issue(body []byte) (string, error) {
	req, err := http.NewRequest(http.MethodPost, k.creds.AuthURL+"/auth/tokens"+k.issueQuery, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	status, rb, hdr, err := k.do(req)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("POST /v3/auth/tokens: HTTP %d: %.200s", status, rb)
	}
	tok := hdr.Get("X-Subject-Token")
	if tok == "" {
		return "", fmt.Errorf("POST /v3/auth/tokens: no X-Subject-Token in the answer")
	}
	return tok, nil
}

// tokenRequest builds a request on /v3/auth/tokens about subject, sent with auth.
func (k *keystone) tokenRequest(method, auth, subject string) *http.Request {
	req, err := http.NewRequest(method, k.creds.AuthURL+"/auth/tokens", nil)
	if err != nil {
		panic(err) // the URL was checked when the credentials were read
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Auth-Token", auth)
	req.Header.Set("X-Subject-Token", subject)
	return req
}

// do sends req and reads the whole body, so the connection is reused.
func (k *keystone) do(req *http.Request) (int, []byte, http.Header, error) {
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header, err
}

// validate does one GET /v3/auth/tokens and checks for 200.
func (k *keystone) validate(req *http.Request) error {
	status, rb, _, err := k.do(req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET /v3/auth/tokens: HTTP %d: %.200s", status, rb)
	}
	return nil
}
