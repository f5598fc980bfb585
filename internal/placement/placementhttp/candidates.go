package placementhttp

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

func (h *Handler) candidateRoutes(srv *api.Server) {
	h.handle(srv, "GET /allocation_candidates", mv(10), api.Version{}, 404, h.candidates)
}

var (
	limitString     = str{re: regexp.MustCompile(`^[1-9][0-9]*$`), minLen: 1}
	groupPolicyEnum = str{enum: []string{"none", "isolate"}}
)

// candidateQuery is the query schema of GET /allocation_candidates at v
// (placement's GET_SCHEMA_1_10 to GET_SCHEMA_1_36).
func candidateQuery(v api.Version) queryParams {
	qp := queryParams{names: map[string]schema{}}
	if v.Less(mv(25)) {
		qp.names["resources"] = anyString
		if v.AtLeast(mv(17)) {
			qp.names["required"] = anyString
		}
		if v.AtLeast(mv(21)) {
			qp.names["member_of"] = anyString
		}
	} else {
		qp.names["group_policy"] = groupPolicyEnum
		keys := []string{"resources", "required", "member_of"}
		if v.AtLeast(mv(31)) {
			keys = append(keys, "in_tree")
		}
		suffix := `([1-9][0-9]*)?$`
		if v.AtLeast(mv(33)) {
			suffix = `([a-zA-Z0-9_-]{1,64})?$`
		}
		for _, k := range keys {
			qp.patterns = append(qp.patterns, pattern{regexp.MustCompile("^" + k + suffix), anyString})
		}
	}
	if v.AtLeast(mv(16)) {
		qp.names["limit"] = limitString
	}
	if v.AtLeast(mv(35)) {
		qp.names["root_required"] = anyString
	}
	if v.AtLeast(mv(36)) {
		qp.names["same_subtree"] = anyString
	}
	return qp
}

// parseCandidateRequest reads the request groups and request-wide
// parameters, with placement's checks and messages.
func parseCandidateRequest(q url.Values, v api.Version) (placement.CandidateRequest, error) {
	req := placement.CandidateRequest{NestedAware: v.AtLeast(mv(29)), WithTraits: v.AtLeast(mv(17)),
		GroupPolicy: q.Get("group_policy")}
	if l := q["limit"]; len(l) > 0 {
		req.Limit, _ = strconv.Atoi(l[0])
	}
	if rr := q["root_required"]; len(rr) > 0 {
		if len(rr) > 1 {
			return req, badQuery(placement.CodeQueryDuplicateKey, "Query parameter 'root_required' may be specified only once.")
		}
		// root_required takes the plain form only, whatever the version.
		tq, err := parseTraits(rr, mv(38))
		if err != nil {
			return req, err
		}
		for _, t := range tq.required {
			req.RootRequired = append(req.RootRequired, t[0])
		}
		req.RootForbidden = tq.forbidden
		var conflicts []string
		for _, t := range req.RootRequired {
			if contains(req.RootForbidden, t) {
				conflicts = append(conflicts, t)
			}
		}
		if len(conflicts) > 0 {
			return req, badQuery(placement.CodeQueryBadValue, "Conflicting required and forbidden traits found in root_required: %s",
				strings.Join(conflicts, ", "))
		}
	}
	for _, val := range q["same_subtree"] {
		suffixes := uniqueStrings(trimAll(strings.Split(val, ",")))
		if contains(suffixes, "") {
			return req, badQuery(placement.CodeQueryBadValue, "Empty string (unsuffixed group) can not be specified in `same_subtree` ")
		}
		req.SameSubtrees = append(req.SameSubtrees, suffixes)
	}
	groups, err := parseGroups(q, v)
	if err != nil {
		return req, err
	}
	req.Groups = groups
	if err := checkGroups(req, v); err != nil {
		return req, err
	}
	return req, nil
}

// parseGroups reads resources, required, member_of and in_tree keys, with
// their suffixes from 1.25.
func parseGroups(q url.Values, v api.Version) ([]placement.RequestGroup, error) {
	pat := groupKey125
	if v.AtLeast(mv(33)) {
		pat = groupKey133
	}
	bySuffix := map[string]*placement.RequestGroup{}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m := pat.FindStringSubmatch(k)
		if m == nil || (m[2] != "" && v.Less(mv(25))) {
			continue
		}
		prefix, suffix := m[1], m[2]
		g := bySuffix[suffix]
		if g == nil {
			g = &placement.RequestGroup{Suffix: suffix}
			bySuffix[suffix] = g
		}
		var err error
		switch prefix {
		case "resources":
			g.Resources, err = parseResources(q[k][len(q[k])-1])
		case "required":
			var tq traitQuery
			tq, err = parseTraits(q[k], v)
			g.RequiredTraits, g.ForbiddenTraits = tq.required, tq.forbidden
		case "member_of":
			var aq aggQuery
			aq, err = parseMemberOf(k, q[k], v)
			g.MemberOf, g.ForbiddenAggs = aq.memberOf, aq.forbidden
		case "in_tree":
			g.InTree, err = parseInTree(q[k][len(q[k])-1])
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]placement.RequestGroup, 0, len(bySuffix))
	for _, s := range sortedKeysOf(bySuffix) {
		out = append(out, *bySuffix[s])
	}
	return out, nil
}

// checkGroups applies placement's rules on resourceless and orphaned groups
// and on traits both required and forbidden.
func checkGroups(req placement.CandidateRequest, v api.Version) error {
	groups := req.Groups
	if v.AtLeast(mv(36)) {
		var resourceless []string
		for _, g := range groups {
			if len(g.Resources) == 0 {
				resourceless = append(resourceless, g.Suffix)
			}
		}
		if len(resourceless) == len(groups) {
			return badQuery(placement.CodeQueryMissingValue, "There must be at least one resources or resources[$S] parameter.")
		}
		inSubtree := map[string]bool{}
		for _, ss := range req.SameSubtrees {
			for _, s := range ss {
				inSubtree[s] = true
			}
		}
		var bad []string
		for _, s := range resourceless {
			if !inSubtree[s] {
				bad = append(bad, s)
			}
		}
		if len(bad) > 0 {
			return badQuery(placement.CodeQueryBadValue, "Resourceless suffixed group request should be specified in "+
				"`same_subtree` query param: bad group(s) - %s.", pyList(bad))
		}
		var missing, all []string
		known := map[string]bool{}
		for _, g := range groups {
			known[g.Suffix] = true
			all = append(all, g.Suffix)
		}
		for _, s := range sortedKeysOf(inSubtree) {
			if !known[s] {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			return badQuery(placement.CodeQueryBadValue, "Real suffixes should be specified in `same_subtree`: %s not found in %s.",
				pyList(missing), pyList(all))
		}
	} else if err := checkOrphans(groups); err != nil {
		return err
	}
	if v.AtLeast(mv(22)) {
		var conflicts []string
		for _, g := range groups {
			for _, anyOf := range g.RequiredTraits {
				all := true
				for _, t := range anyOf {
					if !contains(g.ForbiddenTraits, t) {
						all = false
					}
				}
				if all {
					conflicts = append(conflicts, fmt.Sprintf("required%s: (%s)", g.Suffix, strings.Join(anyOf, ", ")))
				}
			}
		}
		if len(conflicts) > 0 {
			sort.Strings(conflicts)
			return api.BadRequest("Conflicting required and forbidden traits found in the following traits keys: %s",
				strings.Join(conflicts, ", "))
		}
	}
	return nil
}

// checkOrphans is placement's rule before 1.36: every group has resources.
func checkOrphans(groups []placement.RequestGroup) error {
	var traits, aggs []string
	for _, g := range groups {
		if len(g.Resources) > 0 {
			continue
		}
		if len(g.RequiredTraits) > 0 {
			traits = append(traits, "required"+g.Suffix)
		}
		if len(g.MemberOf) > 0 || len(g.ForbiddenAggs) > 0 {
			aggs = append(aggs, "member_of"+g.Suffix)
		}
	}
	switch {
	case len(traits) > 0:
		return api.BadRequest("All traits parameters must be associated with resources.  Found the following orphaned traits keys: %s",
			strings.Join(traits, ", "))
	case len(aggs) > 0:
		return api.BadRequest("All member_of parameters must be associated with resources. Found the following orphaned member_of keys: %s",
			strings.Join(aggs, ", "))
	}
	for _, g := range groups {
		if len(g.Resources) == 0 {
			return api.BadRequest("All request groups must specify resources.")
		}
	}
	if len(groups) == 0 {
		return api.BadRequest("At least one request group (`resources` or `resources{$S}`) is required.")
	}
	return nil
}

// pyList prints strings as a Python list, as placement's messages do.
func pyList(s []string) string {
	q := make([]string, len(s))
	for i, e := range s {
		q[i] = "'" + e + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// candidates answers GET /allocation_candidates.
func (h *Handler) candidates(w http.ResponseWriter, r *http.Request, v api.Version) error {
	if err := checkAccept(r); err != nil {
		return err
	}
	q := r.URL.Query()
	if err := candidateQuery(v).validate(q); err != nil {
		return err
	}
	if v.Less(mv(25)) {
		if _, ok := q["resources"]; !ok {
			return api.BadRequest("Invalid query string parameters: 'resources' is a required property")
		}
	}
	req, err := parseCandidateRequest(q, v)
	if err != nil {
		return err
	}
	res, err := h.svc.AllocationCandidates(r.Context(), req)
	if err != nil {
		return err
	}
	cacheHeaders(w, v, h.now())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(appendCandidates(make([]byte, 0, 256+len(res.Requests)*160+len(res.Summaries)*320), res, req, v))
	return err
}
