package compute

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// instanceCounter counts live instances for the quota engine.
type instanceCounter struct{ store InstanceStore }

func (c instanceCounter) Usage(ctx context.Context, projectID, userID string) (map[string]int, error) {
	n, err := c.store.CountInstances(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	return map[string]int{ResourceInstances: n.Instances, ResourceCores: n.Cores, ResourceRAM: n.RAM}, nil
}

// instanceQuota are the limits the store re-checks a create against, in
// its transaction: the project's, and the user's when the user has limits
// of its own for instances, cores or ram.
func (s *Service) instanceQuota(ctx context.Context, projectID, userID string) (InstanceQuota, error) {
	proj, err := s.projectLimits(ctx, projectID)
	if err != nil {
		return InstanceQuota{}, err
	}
	q := InstanceQuota{ProjectID: projectID, Project: InstanceCounts{Instances: proj[ResourceInstances],
		Cores: proj[ResourceCores], RAM: proj[ResourceRAM]}, User: InstanceCounts{Instances: -1, Cores: -1, RAM: -1}}
	own, err := s.store.UserQuotas(ctx, projectID, userID)
	if err != nil {
		return InstanceQuota{}, fmt.Errorf("read quotas of user %s: %w", userID, err)
	}
	if hasInstanceQuota(own) {
		user, err := s.userLimits(ctx, projectID, userID, proj)
		if err != nil {
			return InstanceQuota{}, err
		}
		q.UserID = userID
		q.User = InstanceCounts{Instances: user[ResourceInstances], Cores: user[ResourceCores], RAM: user[ResourceRAM]}
	}
	return q, nil
}

func hasInstanceQuota(limits map[string]int) bool {
	for _, r := range []string{ResourceInstances, ResourceCores, ResourceRAM} {
		if _, ok := limits[r]; ok {
			return true
		}
	}
	return false
}

// checkInstanceQuota is nova's check_num_instances_quota: how many of
// minCount..maxCount instances of flavor the quota allows, or nova's
// TooManyInstances (403) when not even minCount fit.
func (s *Service) checkInstanceQuota(ctx context.Context, projectID, userID string, flavor Flavor, minCount, maxCount int) (int, error) {
	own, err := s.store.UserQuotas(ctx, projectID, userID)
	if err != nil {
		return 0, fmt.Errorf("read quotas of user %s: %w", userID, err)
	}
	if !hasInstanceQuota(own) {
		userID = ""
	}
	deltas := map[string]int{ResourceInstances: maxCount, ResourceCores: maxCount * flavor.VCPUs,
		ResourceRAM: maxCount * flavor.MemoryMB}
	err = s.CheckDeltas(ctx, projectID, userID, deltas)
	var qe *QuotaExceeded
	if !errors.As(err, &qe) {
		return maxCount, err
	}
	headroom := quotaHeadroom(qe.Limits, qe.Usage, deltas)
	allowed := headroom[ResourceInstances]
	if flavor.VCPUs > 0 {
		allowed = math.Min(allowed, math.Floor(headroom[ResourceCores]/float64(flavor.VCPUs)))
	}
	if flavor.MemoryMB > 0 {
		allowed = math.Min(allowed, math.Floor(headroom[ResourceRAM]/float64(flavor.MemoryMB)))
	}
	if allowed > 0 && float64(minCount) <= allowed && allowed <= float64(maxCount) {
		return s.checkInstanceQuota(ctx, projectID, userID, flavor, minCount, int(allowed))
	}
	num := strconv.Itoa(minCount)
	if minCount != maxCount {
		num = fmt.Sprintf("%d-%d", minCount, maxCount)
	}
	requested := map[string]string{ResourceInstances: num, ResourceCores: strconv.Itoa(deltas[ResourceCores]),
		ResourceRAM: strconv.Itoa(deltas[ResourceRAM])}
	return 0, tooManyInstances(qe.Overs, requested, qe.Limits, headroom)
}

// quotaHeadroom is nova's get_headroom: what each limit leaves, with an
// unlimited cores or ram following the instances' headroom.
func quotaHeadroom(limits, usage map[string]int, deltas map[string]int) map[string]float64 {
	h := map[string]float64{}
	for r, l := range limits {
		h[r] = float64(l - usage[r])
	}
	inst, ok := h[ResourceInstances]
	if !ok {
		inst = 1
	}
	for _, r := range []string{ResourceCores, ResourceRAM} {
		if limits[r] != -1 {
			continue
		}
		if d := deltas[r]; d != 0 {
			n := deltas[ResourceInstances]
			if n == 0 {
				n = 1
			}
			h[r] = inst * float64(d) / float64(n)
		} else {
			h[r] = inst
		}
	}
	return h
}

// tooManyInstances is nova's TooManyInstances, with get_over_quota_detail's
// lists.
func tooManyInstances(overs []string, requested map[string]string, limits map[string]int, headroom map[string]float64) error {
	var reqs, used, allowed []string
	for _, r := range overs {
		reqs = append(reqs, requested[r])
		used = append(used, pyNumber(float64(limits[r])-headroom[r]))
		allowed = append(allowed, strconv.Itoa(limits[r]))
	}
	o := strings.Join(overs, ", ")
	return errorf(ErrForbidden, "Quota exceeded for %s: Requested %s, but already used %s of %s %s", o,
		strings.Join(reqs, ", "), strings.Join(used, ", "), strings.Join(allowed, ", "), o)
}

// pyNumber prints a number as Python's str: integers bare, others with a
// fraction.
func pyNumber(f float64) string {
	if f == math.Trunc(f) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// checkUpsizeQuota is nova's _check_quota_for_upsize: a resize to a bigger
// flavor must fit the cores and ram quotas.
func (s *Service) checkUpsizeQuota(ctx context.Context, inst Instance, from, to Flavor) error {
	deltas := map[string]int{}
	if d := to.VCPUs - from.VCPUs; d > 0 {
		deltas[ResourceCores] = d
	}
	if d := to.MemoryMB - from.MemoryMB; d > 0 {
		deltas[ResourceRAM] = d
	}
	if len(deltas) == 0 {
		return nil
	}
	userID := inst.UserID
	own, err := s.store.UserQuotas(ctx, inst.ProjectID, userID)
	if err != nil {
		return fmt.Errorf("read quotas of user %s: %w", userID, err)
	}
	if !hasInstanceQuota(own) {
		userID = ""
	}
	err = s.CheckDeltas(ctx, inst.ProjectID, userID, deltas)
	var qe *QuotaExceeded
	if !errors.As(err, &qe) {
		return err
	}
	headroom := quotaHeadroom(qe.Limits, qe.Usage, deltas)
	requested := map[string]string{}
	for r, d := range deltas {
		requested[r] = strconv.Itoa(d)
	}
	return tooManyInstances(qe.Overs, requested, qe.Limits, headroom)
}

// passwordSymbols are nova's DEFAULT_PASSWORD_SYMBOLS, without the
// characters easily confused.
var passwordSymbols = []string{"23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz"}

// password is nova's generate_password: one symbol of each group, the rest
// from all of them, shuffled.
func (s *Service) password(length int) (string, error) {
	all := strings.Join(passwordSymbols, "")
	var out []byte
	for _, g := range passwordSymbols {
		c, err := s.pick(g)
		if err != nil {
			return "", err
		}
		out = append(out, c)
	}
	for len(out) < length {
		c, err := s.pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, c)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := s.intn(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out[:length]), nil
}

// randomString is nova's generate_uid: prefix and n characters.
func (s *Service) randomString(prefix string, n int) (string, error) {
	const chars = "01234567890abcdefghijklmnopqrstuvwxyz"
	b := []byte(prefix)
	for range n {
		c, err := s.pick(chars)
		if err != nil {
			return "", err
		}
		b = append(b, c)
	}
	return string(b), nil
}

func (s *Service) pick(from string) (byte, error) {
	i, err := s.intn(len(from))
	if err != nil {
		return 0, err
	}
	return from[i], nil
}

func (s *Service) intn(n int) (int, error) {
	v, err := rand.Int(s.random, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("random number: %w", err)
	}
	return int(v.Int64()), nil
}
