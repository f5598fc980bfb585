package compute

import (
	"context"
	"fmt"
	"slices"
	"unicode/utf8"
)

// QuotaDefaults returns the default limits (GET os-quota-sets/{id}/defaults).
func (s *Service) QuotaDefaults(ctx context.Context, projectID string) (map[string]int, error) {
	if err := s.authorize(ctx, RuleQuotaSetsDefaults, map[string]any{"project_id": projectID}); err != nil {
		return nil, err
	}
	if err := s.verifyProject(ctx, projectID); err != nil {
		return nil, err
	}
	return s.defaultLimits(ctx)
}

// Quotas returns the limits in force for a project, or for one user of it
// when userID is set (GET os-quota-sets/{id}).
func (s *Service) Quotas(ctx context.Context, projectID, userID string) (map[string]int, error) {
	if err := s.authorize(ctx, RuleQuotaSetsShow, map[string]any{"project_id": projectID}); err != nil {
		return nil, err
	}
	if err := s.verifyProject(ctx, projectID); err != nil {
		return nil, err
	}
	return s.limitsOf(ctx, projectID, userID)
}

func (s *Service) limitsOf(ctx context.Context, projectID, userID string) (map[string]int, error) {
	proj, err := s.projectLimits(ctx, projectID)
	if err != nil || userID == "" {
		return proj, err
	}
	return s.userLimits(ctx, projectID, userID, proj)
}

// QuotaUsage returns the limits in force with their usage (GET
// os-quota-sets/{id}/detail); userID counts one user's usage.
func (s *Service) QuotaUsage(ctx context.Context, projectID, userID string) (map[string]Usage, error) {
	if err := s.authorize(ctx, RuleQuotaSetsDetail, map[string]any{"project_id": projectID}); err != nil {
		return nil, err
	}
	if err := s.verifyProject(ctx, projectID); err != nil {
		return nil, err
	}
	limits, err := s.limitsOf(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	return s.limitsWithUsage(ctx, limits, projectID, userID)
}

// UpdateQuotas sets limits of a project, or of one user of it, and returns
// the limits in force afterwards (PUT os-quota-sets/{id}). Unless force is
// set, a limit below what is in use, or a user's limit above what the project
// has left, is refused and nothing is written.
func (s *Service) UpdateQuotas(ctx context.Context, projectID, userID string, values map[string]int, force bool) (map[string]int, error) {
	if err := s.authorize(ctx, RuleQuotaSetsUpdate, map[string]any{"project_id": projectID}); err != nil {
		return nil, err
	}
	if err := s.verifyProject(ctx, projectID); err != nil {
		return nil, err
	}
	if err := checkResources(values); err != nil {
		return nil, err
	}
	ranges, err := s.settable(ctx, projectID, userID)
	if err != nil {
		return nil, err
	}
	projectValues, userValues := map[string]int{}, map[string]int{}
	for _, r := range sortedKeys(values) {
		v := values[r]
		if !force {
			if err := checkSettable(r, v, ranges[r]); err != nil {
				return nil, err
			}
		}
		if userID != "" && !perProject[r] {
			userValues[r] = v
		} else {
			projectValues[r] = v
		}
	}
	if err := s.store.SetQuotas(ctx, projectID, projectValues, userID, userValues, s.now().UTC()); err != nil {
		return nil, fmt.Errorf("set quotas of project %s: %w", projectID, err)
	}
	s.log.InfoContext(ctx, "quotas updated", "project_id", projectID, "user_id", userID, "values", values)
	return s.limitsOf(ctx, projectID, userID)
}

// checkResources refuses resources nova does not know.
func checkResources(values map[string]int) error {
	var unknown []string
	for _, r := range sortedKeys(values) {
		if !slices.Contains(QuotaResources, r) {
			unknown = append(unknown, r)
		}
	}
	if unknown != nil {
		return errorf(ErrInvalid, "Unknown quota resources %v.", unknown)
	}
	return nil
}

// DeleteQuotas reverts a project's limits (and its users'), or one user's,
// to the defaults (DELETE os-quota-sets/{id}).
func (s *Service) DeleteQuotas(ctx context.Context, projectID, userID string) error {
	if err := s.authorize(ctx, RuleQuotaSetsDelete, map[string]any{"project_id": projectID}); err != nil {
		return err
	}
	var err error
	if userID != "" {
		err = s.store.DeleteUserQuotas(ctx, projectID, userID)
	} else {
		err = s.store.DeleteProjectQuotas(ctx, projectID)
	}
	if err != nil {
		return fmt.Errorf("delete quotas of project %s: %w", projectID, err)
	}
	s.log.InfoContext(ctx, "quotas reverted to defaults", "project_id", projectID, "user_id", userID)
	return nil
}

// ClassQuotas returns a quota class's limits (GET os-quota-class-sets/{id}):
// the class's own, else the configured defaults.
func (s *Service) ClassQuotas(ctx context.Context, class string) (map[string]int, error) {
	if err := s.authorize(ctx, RuleQuotaClassSetsShow, map[string]any{}); err != nil {
		return nil, err
	}
	return s.classLimits(ctx, class)
}

// UpdateClassQuotas sets a quota class's limits and returns them. The
// "default" class's limits are every project's defaults.
func (s *Service) UpdateClassQuotas(ctx context.Context, class string, values map[string]int) (map[string]int, error) {
	if err := s.authorize(ctx, RuleQuotaClassSetsUpdate, map[string]any{}); err != nil {
		return nil, err
	}
	if n := utf8.RuneCountInString(class); n < 1 {
		return nil, errorf(ErrInvalid, "quota_class_name has a minimum character requirement of 1.")
	} else if n > 255 {
		return nil, errorf(ErrInvalid, "quota_class_name has more than 255 characters.")
	}
	if err := checkResources(values); err != nil {
		return nil, err
	}
	if err := s.store.SetClassQuotas(ctx, class, values, s.now().UTC()); err != nil {
		return nil, fmt.Errorf("set quota class %s: %w", class, err)
	}
	s.log.InfoContext(ctx, "quota class updated", "quota_class", class, "values", values)
	return s.classLimits(ctx, class)
}

// Limits returns the limits in force for the caller's project with its
// usage (GET /limits); tenantID, when given, names another project, which
// needs os_compute_api:limits:other_project.
func (s *Service) Limits(ctx context.Context, tenantID *string) (map[string]Usage, error) {
	c, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, RuleLimits, map[string]any{}); err != nil {
		return nil, err
	}
	projectID := c.ProjectID
	if tenantID != nil {
		projectID = *tenantID
		if err := s.authorize(ctx, RuleLimitsOtherProject, callerTarget(c)); err != nil {
			return nil, err
		}
	}
	limits, err := s.projectLimits(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return s.limitsWithUsage(ctx, limits, projectID, "")
}
