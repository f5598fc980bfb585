// Package authhttp validates the X-Auth-Token of API requests and puts the caller
// in the request context, answering 401 in upstream's shape when it cannot.
package authhttp

import (
	"errors"
	"net/http"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/auth"
)

// TokenHeader is the header clients send their token in.
const TokenHeader = "X-Auth-Token"

// Middleware validates tokens with v. identityURL, when set, is sent to clients
// in WWW-Authenticate as keystonemiddleware does.
type Middleware struct {
	Validator   auth.Validator
	Render      api.ErrorRenderer
	IdentityURL string
	// Service is the catalog type of the API being served ("identity"), which
	// access rules of application credentials name.
	Service string
}

// Require wraps h so it runs only for requests with a valid token.
func (m *Middleware) Require(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get(TokenHeader)
		if token == "" {
			m.unauthorized(w, r)
			return
		}
		c, err := m.Validator.ValidateToken(r.Context(), token)
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthorized) {
				api.Logger(r.Context()).Error("validate token", "error", err)
				m.Render(w, r, http.StatusServiceUnavailable, "The token could not be validated; try again later.")
				return
			}
			m.unauthorized(w, r)
			return
		}
		if !c.Permits(m.Service, r.Method, r.URL.Path) {
			api.Logger(r.Context()).Info("request outside the token's access rules", "user_id", c.UserID,
				"application_credential_id", c.AppCredID)
			m.unauthorized(w, r)
			return
		}
		h.ServeHTTP(w, r.WithContext(auth.WithCaller(r.Context(), c)))
	})
}

// RequireFunc is Require for a handler function.
func (m *Middleware) RequireFunc(f http.HandlerFunc) http.Handler { return m.Require(f) }

func (m *Middleware) unauthorized(w http.ResponseWriter, r *http.Request) {
	if m.IdentityURL != "" {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+m.IdentityURL+`"`)
	}
	m.Render(w, r, http.StatusUnauthorized, "The request you have made requires authentication.")
}
