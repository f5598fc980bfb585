package placementsql

import (
	"slices"
	"testing"
)

func TestParseIDList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []int64
		partial  bool
	}{
		{"empty", "", nil, false},
		{"unsorted", "12,3,7", []int64{3, 7, 12}, false},
		{"counted", "3:1,2,3", []int64{1, 2, 3}, false},
		{"cut between ids", "4:1,2,3", []int64{1, 2, 3}, true},
		{"cut inside an id", "3:1,2,", nil, true},
		{"garbage", "x:1", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, partial := parseIDList(tc.in)
			if partial != tc.partial || (!partial && !slices.Equal(got, tc.want)) {
				t.Errorf("parseIDList(%q) = %v, %v; want %v, %v", tc.in, got, partial, tc.want, tc.partial)
			}
		})
	}
}
