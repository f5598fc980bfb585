package identityhttp

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/identity"
)

// SubjectTokenHeader carries an issued token, and the token to check in
// GET/HEAD/DELETE /v3/auth/tokens.
const SubjectTokenHeader = "X-Subject-Token"

func (h *Handler) tokenRoutes(srv *api.Server) {
	srv.HandleFunc("POST /v3/auth/tokens", h.issueToken)
	srv.Handle("GET /v3/auth/tokens", h.authed(h.validateToken))
	srv.Handle("HEAD /v3/auth/tokens", h.authed(h.checkToken))
	srv.Handle("DELETE /v3/auth/tokens", h.authed(h.revokeToken))
	srv.Handle("GET /v3/auth/catalog", h.authed(h.authCatalog))
	srv.Handle("GET /v3/auth/system", h.authed(h.authSystem))
}

// authRequest is the body of POST /v3/auth/tokens (api-ref: identity v3,
// "Password authentication with scoped authorization" and siblings).
type authRequest struct {
	Auth *struct {
		Identity *struct {
			Methods               []string               `json:"methods"`
			Password              *passwordCredential    `json:"password"`
			Token                 *struct{ ID string }   `json:"token"`
			ApplicationCredential *appCredentialIdentity `json:"application_credential"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

type userRef struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Domain *domainRef `json:"domain"`
}

type domainRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type passwordCredential struct {
	User *struct {
		userRef
		Password string `json:"password"`
	} `json:"user"`
}

type appCredentialIdentity struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Secret string   `json:"secret"`
	User   *userRef `json:"user"`
}

type scopeBody struct {
	Project *struct {
		ID     string     `json:"id"`
		Name   string     `json:"name"`
		Domain *domainRef `json:"domain"`
	} `json:"project"`
	Domain *domainRef `json:"domain"`
	System *struct {
		All bool `json:"all"`
	} `json:"system"`
	OSTrust json.RawMessage `json:"OS-TRUST:trust"`
}

// toRequest converts the wire body into the service's AuthRequest.
func (b *authRequest) toRequest() (identity.AuthRequest, error) {
	if b.Auth == nil || b.Auth.Identity == nil {
		return identity.AuthRequest{}, api.BadRequest("Expecting to find identity in auth.")
	}
	id := b.Auth.Identity
	req := identity.AuthRequest{Methods: id.Methods}
	if id.Password != nil {
		if id.Password.User == nil {
			return req, api.BadRequest("Expecting to find user in password.")
		}
		u := id.Password.User
		req.Password = &identity.PasswordMethod{UserID: u.ID, UserName: u.Name, Password: u.Password}
		if u.Domain != nil {
			req.Password.UserDomainID, req.Password.UserDomainName = u.Domain.ID, u.Domain.Name
		}
	}
	if id.Token != nil {
		req.Token = &identity.TokenMethod{ID: id.Token.ID}
	}
	if ac := id.ApplicationCredential; ac != nil {
		req.AppCred = &identity.AppCredMethod{ID: ac.ID, Name: ac.Name, Secret: ac.Secret}
		if ac.User != nil {
			req.AppCred.UserID, req.AppCred.UserName = ac.User.ID, ac.User.Name
			if ac.User.Domain != nil {
				req.AppCred.UserDomainID, req.AppCred.UserDomainName = ac.User.Domain.ID, ac.User.Domain.Name
			}
		}
	}
	scope, err := parseScope(b.Auth.Scope)
	if err != nil {
		return req, err
	}
	req.Scope = scope
	return req, nil
}

func parseScope(raw json.RawMessage) (identity.Scope, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return identity.Scope{}, nil
	}
	var word string
	if json.Unmarshal(raw, &word) == nil {
		if word == "unscoped" {
			return identity.Scope{Unscoped: true}, nil
		}
		return identity.Scope{}, api.BadRequest("Invalid input for field 'scope': %q is not a scope.", word)
	}
	var sb scopeBody
	if err := json.Unmarshal(raw, &sb); err != nil {
		return identity.Scope{}, api.BadRequest("Invalid input for field 'scope': it must be an object.")
	}
	var sc identity.Scope
	if sb.OSTrust != nil {
		var tr struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(sb.OSTrust, &tr) != nil || tr.ID == "" {
			return sc, api.BadRequest("Expecting to find trust_id in trust. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.")
		}
		if sb.Project != nil || sb.Domain != nil || sb.System != nil {
			return sc, api.BadRequest("Specify either a project, a domain, the system or a trust as the scope, not several.")
		}
		return identity.Scope{TrustID: tr.ID}, nil
	}
	switch {
	case sb.Project != nil:
		sc.ProjectID, sc.ProjectName = sb.Project.ID, sb.Project.Name
		if sb.Project.Domain != nil {
			sc.ProjectDomainID, sc.ProjectDomainName = sb.Project.Domain.ID, sb.Project.Domain.Name
		}
		if sc.ProjectID == "" && sc.ProjectName == "" {
			return sc, api.BadRequest("Expecting to find id or name in project.")
		}
	case sb.Domain != nil:
		sc.DomainID, sc.DomainName = sb.Domain.ID, sb.Domain.Name
		if sc.DomainID == "" && sc.DomainName == "" {
			return sc, api.BadRequest("Expecting to find id or name in domain.")
		}
	case sb.System != nil:
		if !sb.System.All {
			return sc, api.BadRequest("Only the 'all' system scope is supported.")
		}
		sc.System = true
	default:
		return sc, api.BadRequest("Expecting a project, domain or system in scope.")
	}
	if sb.Project != nil && sb.Domain != nil || (sb.Project != nil || sb.Domain != nil) && sb.System != nil {
		return sc, api.BadRequest("Specify either a project, a domain or the system as the scope, not several.")
	}
	return sc, nil
}

func (h *Handler) issueToken(w http.ResponseWriter, r *http.Request) {
	var body authRequest
	if !h.decode(w, r, &body) {
		return
	}
	req, err := body.toRequest()
	if err != nil {
		writeError(w, r, err)
		return
	}
	t, err := h.svc.Authenticate(r.Context(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeToken(w, r, http.StatusCreated, t)
}

func (h *Handler) validateToken(w http.ResponseWriter, r *http.Request) {
	allowExpired, _ := boolQuery(r, "allow_expired")
	t, err := h.svc.CheckToken(r.Context(), "identity:validate_token", r.Header.Get(SubjectTokenHeader), allowExpired)
	if err != nil {
		writeError(w, r, err)
		return
	}
	h.writeToken(w, r, http.StatusOK, t)
}

func (h *Handler) checkToken(w http.ResponseWriter, r *http.Request) {
	allowExpired, _ := boolQuery(r, "allow_expired")
	t, err := h.svc.CheckToken(r.Context(), "identity:check_token", r.Header.Get(SubjectTokenHeader), allowExpired)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set(SubjectTokenHeader, t.ID)
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := h.svc.RevokeSubjectToken(r.Context(), r.Header.Get(SubjectTokenHeader)); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) authCatalog(w http.ResponseWriter, r *http.Request) {
	cat, err := h.svc.AuthCatalog(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"catalog": catalogView(cat), "links": collectionLinks(r)})
}

func (h *Handler) authSystem(w http.ResponseWriter, r *http.Request) {
	has, err := h.svc.AuthSystem(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	system := []any{}
	if has {
		system = append(system, map[string]any{"all": true})
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"system": system, "links": collectionLinks(r)})
}

// tokenView is a token as keystone renders it (api-ref: identity v3,
// "Password authentication with scoped authorization" response).
type tokenView struct {
	Methods        []string        `json:"methods"`
	User           tokenUser       `json:"user"`
	AuditIDs       []string        `json:"audit_ids"`
	ExpiresAt      string          `json:"expires_at"`
	IssuedAt       string          `json:"issued_at"`
	Roles          []idName        `json:"roles,omitempty"`
	Catalog        json.RawMessage `json:"catalog,omitempty"`
	Project        *tokenProject   `json:"project,omitempty"`
	IsDomain       *bool           `json:"is_domain,omitempty"`
	IsAdminProject *bool           `json:"is_admin_project,omitempty"`
	Domain         *idName         `json:"domain,omitempty"`
	System         *systemScope    `json:"system,omitempty"`
	AppCred        *tokenAppCred   `json:"application_credential,omitempty"`
	Trust          *tokenTrust     `json:"OS-TRUST:trust,omitempty"`
}

type idName struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type tokenUser struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Domain            idName  `json:"domain"`
	PasswordExpiresAt *string `json:"password_expires_at"`
}

type tokenProject struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain idName `json:"domain"`
}

type systemScope struct {
	All bool `json:"all"`
}

type tokenAppCred struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Restricted  bool            `json:"restricted"`
	AccessRules []accessRuleRef `json:"access_rules,omitempty"`
}

type idRef struct {
	ID string `json:"id"`
}

type tokenTrust struct {
	ID            string `json:"id"`
	Impersonation bool   `json:"impersonation"`
	TrusteeUser   idRef  `json:"trustee_user"`
	TrustorUser   idRef  `json:"trustor_user"`
}

// writeToken renders a token as keystone does, with X-Subject-Token carrying it.
func (h *Handler) writeToken(w http.ResponseWriter, r *http.Request, status int, t *identity.Token) {
	view := tokenView{Methods: t.Methods, AuditIDs: t.AuditIDs,
		ExpiresAt: timestamp(t.ExpiresAt), IssuedAt: timestamp(t.IssuedAt),
		User: tokenUser{ID: t.User.ID, Name: t.User.Name, Domain: idName{t.UserDomain.ID, t.UserDomain.Name}}}
	if !t.User.PasswordExpiresAt.IsZero() {
		at := timestamp(t.User.PasswordExpiresAt)
		view.User.PasswordExpiresAt = &at
	}
	if t.Scoped() {
		view.Roles = make([]idName, len(t.Roles))
		for i, role := range t.Roles {
			view.Roles[i] = idName{role.ID, role.Name}
		}
		if nocatalog, _ := boolQuery(r, "nocatalog"); !nocatalog {
			raw, err := h.catalogJSON(r)
			if err != nil {
				writeError(w, r, err)
				return
			}
			view.Catalog = raw
		}
	}
	switch {
	case t.Project != nil:
		isDomain, isAdmin := false, t.IsAdminProject
		view.Project = &tokenProject{ID: t.Project.ID, Name: t.Project.Name,
			Domain: idName{t.ProjectDomain.ID, t.ProjectDomain.Name}}
		view.IsDomain, view.IsAdminProject = &isDomain, &isAdmin
	case t.Domain != nil:
		view.Domain = &idName{t.Domain.ID, t.Domain.Name}
	case t.System:
		view.System = &systemScope{All: true}
	}
	if t.AppCred != nil {
		view.AppCred = &tokenAppCred{ID: t.AppCred.ID, Name: t.AppCred.Name,
			Restricted: !t.AppCred.Unrestricted, AccessRules: accessRuleRefs(t.AccessRules)}
	}
	if t.Trust != nil {
		view.Trust = &tokenTrust{ID: t.Trust.ID, Impersonation: t.Trust.Impersonation,
			TrusteeUser: idRef{t.Trust.TrusteeUserID}, TrustorUser: idRef{t.Trust.TrustorUserID}}
	}
	w.Header().Set(SubjectTokenHeader, t.ID)
	api.WriteJSON(w, status, struct {
		Token tokenView `json:"token"`
	}{view})
}

// renderedCatalog is the JSON of one catalog snapshot.
type renderedCatalog struct {
	of  *identity.Catalog
	raw json.RawMessage
}

// catalogJSON returns the current catalog as JSON, rendering it once per
// catalog snapshot: every token response carries it.
func (h *Handler) catalogJSON(r *http.Request) (json.RawMessage, error) {
	cat, err := h.svc.Catalog(r.Context())
	if err != nil {
		return nil, err
	}
	if rc := h.catalog.Load(); rc != nil && rc.of == cat {
		return rc.raw, nil
	}
	raw, err := json.Marshal(catalogView(cat))
	if err != nil {
		return nil, err
	}
	h.catalog.Store(&renderedCatalog{of: cat, raw: raw})
	return raw, nil
}

// catalogEndpoint is one endpoint of a catalog entry.
type catalogEndpoint struct {
	ID        string `json:"id"`
	Interface string `json:"interface"`
	RegionID  string `json:"region_id"`
	Region    string `json:"region"`
	URL       string `json:"url"`
}

// catalogEntry is one service of the catalog (api-ref: identity v3, "Get service catalog").
type catalogEntry struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Name      string            `json:"name"`
	Endpoints []catalogEndpoint `json:"endpoints"`
}

// catalogView renders the token catalog.
func catalogView(cat *identity.Catalog) []catalogEntry {
	out := make([]catalogEntry, 0, len(cat.Entries))
	for _, c := range cat.Entries {
		eps := make([]catalogEndpoint, 0, len(c.Endpoints))
		for _, e := range c.Endpoints {
			eps = append(eps, catalogEndpoint{ID: e.ID, Interface: e.Interface, RegionID: e.RegionID, Region: e.RegionID, URL: e.URL})
		}
		out = append(out, catalogEntry{ID: c.Service.ID, Type: c.Service.Type, Name: c.Service.Name, Endpoints: eps})
	}
	return out
}

// timestamp formats a time as keystone does: 2026-11-27T10:10:44.000000Z.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }
