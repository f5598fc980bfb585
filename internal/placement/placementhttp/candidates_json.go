package placementhttp

import (
	"encoding/json"
	"strconv"

	"github.com/nimbus-cloud/nimbus/internal/api"
	"github.com/nimbus-cloud/nimbus/internal/placement"
)

// appendCandidates renders GET /allocation_candidates' body (api-ref
// "Allocation candidates") by hand: the answer can list thousands of
// providers, and encoding/json would build and sort a map per summary.
// Shapes by microversion: allocation requests as lists before 1.12, as
// objects keyed by provider after, with mappings from 1.34; summaries list
// only requested classes before 1.27, carry traits from 1.17 and parent and
// root from 1.29.
func appendCandidates(b []byte, res placement.CandidateResult, req placement.CandidateRequest, v api.Version) []byte {
	b = append(b, `{"allocation_requests": [`...)
	for i, ar := range res.Requests {
		if i > 0 {
			b = append(b, ", "...)
		}
		if v.Less(mv(12)) {
			b = appendRequestList(b, ar)
		} else {
			b = appendRequestDict(b, ar, v.AtLeast(mv(34)))
		}
	}
	b = append(b, `], "provider_summaries": {`...)
	requested := map[string]bool{}
	for _, g := range req.Groups {
		for rc := range g.Resources {
			requested[rc] = true
		}
	}
	allClasses := v.AtLeast(mv(27))
	for i, ps := range res.Summaries {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendString(b, ps.UUID)
		b = append(b, `: {"resources": {`...)
		first := true
		for _, r := range ps.Resources {
			if !allClasses && !requested[r.ResourceClass] {
				continue
			}
			if !first {
				b = append(b, ", "...)
			}
			first = false
			b = appendString(b, r.ResourceClass)
			b = append(b, `: {"capacity": `...)
			b = strconv.AppendInt(b, r.Capacity, 10)
			b = append(b, `, "used": `...)
			b = strconv.AppendInt(b, r.Used, 10)
			b = append(b, '}')
		}
		b = append(b, '}')
		if req.WithTraits {
			b = append(b, `, "traits": [`...)
			for j, t := range ps.Traits {
				if j > 0 {
					b = append(b, ", "...)
				}
				b = appendString(b, t)
			}
			b = append(b, ']')
		}
		if req.NestedAware {
			b = append(b, `, "parent_provider_uuid": `...)
			if ps.ParentUUID == "" {
				b = append(b, "null"...)
			} else {
				b = appendString(b, ps.ParentUUID)
			}
			b = append(b, `, "root_provider_uuid": `...)
			b = appendString(b, ps.RootUUID)
		}
		b = append(b, '}')
	}
	return append(b, "}}\n"...)
}

// appendRequestDict writes {"allocations": {rp: {"resources": {...}}}, "mappings": {...}}.
func appendRequestDict(b []byte, ar placement.AllocationRequest, mappings bool) []byte {
	b = append(b, `{"allocations": {`...)
	for i := 0; i < len(ar.Resources); {
		if i > 0 {
			b = append(b, ", "...)
		}
		rp := ar.Resources[i].ProviderUUID
		b = appendString(b, rp)
		b = append(b, `: {"resources": {`...)
		b, i = appendAmounts(b, ar.Resources, i)
		b = append(b, "}}"...)
	}
	b = append(b, '}')
	if mappings {
		b = append(b, `, "mappings": {`...)
		for i, s := range sortedKeysOf(ar.Mappings) {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, s)
			b = append(b, ": ["...)
			for j, u := range ar.Mappings[s] {
				if j > 0 {
					b = append(b, ", "...)
				}
				b = appendString(b, u)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendRequestList writes {"allocations": [{"resource_provider": {"uuid"}, "resources": {...}}]}.
func appendRequestList(b []byte, ar placement.AllocationRequest) []byte {
	b = append(b, `{"allocations": [`...)
	for i := 0; i < len(ar.Resources); {
		if i > 0 {
			b = append(b, ", "...)
		}
		rp := ar.Resources[i].ProviderUUID
		b = append(b, `{"resource_provider": {"uuid": `...)
		b = appendString(b, rp)
		b = append(b, `}, "resources": {`...)
		b, i = appendAmounts(b, ar.Resources, i)
		b = append(b, "}}"...)
	}
	return append(b, "]}"...)
}

// appendAmounts writes "CLASS": amount pairs of the provider at res[i] and
// the ones following it, returning the index past them.
func appendAmounts(b []byte, res []placement.RequestResource, i int) ([]byte, int) {
	rp := res[i].ProviderUUID
	j := i
	for ; j < len(res) && res[j].ProviderUUID == rp; j++ {
		if j > i {
			b = append(b, ", "...)
		}
		b = appendString(b, res[j].ResourceClass)
		b = append(b, ": "...)
		b = strconv.AppendInt(b, res[j].Amount, 10)
	}
	return b, j
}

// appendString writes s as a JSON string; names and uuids here need no
// escaping, anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
