package api

import (
	"net/http"
	"net/url"
	"strconv"
)

// Page is a limit/marker pagination request.
type Page struct {
	// Limit is the page size; 0 means the service's default.
	Limit int
	// Marker is the id of the last item of the previous page; "" starts at the first.
	Marker string
}

// ParsePage reads limit and marker from the query string. A negative or non-integer
// limit is a 400; a limit over max is lowered to max, as upstream does.
func ParsePage(r *http.Request, max int) (Page, *Error) {
	q := r.URL.Query()
	p := Page{Marker: q.Get("marker")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Page{}, BadRequest("Invalid value for limit: %q; it must be a non-negative integer.", v)
		}
		p.Limit = n
	}
	if max > 0 && (p.Limit == 0 || p.Limit > max) {
		p.Limit = max
	}
	return p, nil
}

// NextURL returns the request URL with marker set to the given id: the link to the
// next page. base is the public endpoint the client used (scheme and host).
func NextURL(r *http.Request, base, marker string) string {
	u := *r.URL
	q := u.Query()
	q.Set("marker", marker)
	u.RawQuery = q.Encode()
	if base == "" {
		return u.RequestURI()
	}
	b, err := url.Parse(base)
	if err != nil {
		return u.RequestURI()
	}
	b.Path = u.Path
	b.RawQuery = u.RawQuery
	return b.String()
}

// BaseURL is the scheme and host a client reached this server at.
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
