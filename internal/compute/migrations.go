package compute

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Migration types (nova's MigrationType).
const (
	MigrationTypeMigration  = "migration"
	MigrationTypeResize     = "resize"
	MigrationTypeLive       = "live-migration"
	MigrationTypeEvacuation = "evacuation"
)

// Migration statuses, as nova's flows set them. A resize or cold migration
// goes pre-migrating, migrating, post-migrating, finished, then confirming
// and confirmed or reverting and reverted; a live migration accepted,
// queued, preparing, running, then completed or failed; an evacuation
// accepted, then done or failed. A move that could not start is error.
const (
	MigrationPreMigrating  = "pre-migrating"
	MigrationMigrating     = "migrating"
	MigrationPostMigrating = "post-migrating"
	MigrationFinished      = "finished"
	MigrationConfirming    = "confirming"
	MigrationConfirmed     = "confirmed"
	MigrationReverting     = "reverting"
	MigrationReverted      = "reverted"
	MigrationError         = "error"
	MigrationAccepted      = "accepted"
	MigrationQueued        = "queued"
	MigrationPreparing     = "preparing"
	MigrationRunning       = "running"
	MigrationCompleted     = "completed"
	MigrationFailed        = "failed"
	MigrationDone          = "done"
	MigrationCancelled     = "cancelled"
)

// liveInProgress are the statuses of a live migration still under way
// (nova's in-progress list of the migrations APIs).
var liveInProgress = []string{MigrationQueued, MigrationPreparing, MigrationRunning, MigrationPostMigrating}

// MigrationInProgress reports whether m is a live migration under way, the
// ones GET /servers/{id}/migrations lists and os-migrations links to.
func MigrationInProgress(m Migration) bool {
	return m.MigrationType == MigrationTypeLive && slices.Contains(liveInProgress, m.Status)
}

// Migration is a record of one move of an instance (nova's migrations
// table).
type Migration struct {
	// ID is the row id the API shows; UUID is shown from 2.59.
	ID           int64
	UUID         string
	InstanceUUID string
	// SourceCompute and SourceNode are where the instance came from;
	// DestCompute, DestNode and DestHost (the destination's address)
	// where it goes, "" until known.
	SourceCompute, SourceNode       string
	DestCompute, DestNode, DestHost string
	// OldInstanceTypeID and NewInstanceTypeID are the internal ids of the
	// flavors before and after; nil when not known.
	OldInstanceTypeID, NewInstanceTypeID *int64
	Status                               string
	MigrationType                        string
	// Hidden records are not listed (nova hides the records of moves
	// across cells; none is hidden here yet).
	Hidden    bool
	ProjectID string
	UserID    string
	CreatedAt time.Time
	// UpdatedAt is zero until the record first changes.
	UpdatedAt time.Time
}

// MigrationStore keeps migration records.
type MigrationStore interface {
	// CreateMigration stores m (ID is assigned) and returns it as stored.
	CreateMigration(ctx context.Context, m Migration) (Migration, error)
	// UpdateLatestMigration reads the newest migration of an instance,
	// locked for the transaction, lets mutate change it and writes it
	// back. None is ErrNotFound; an error of mutate is returned as it is
	// and nothing is written.
	UpdateLatestMigration(ctx context.Context, instanceUUID string, mutate func(*Migration) error) (Migration, error)
	// GetMigration returns a migration by row id.
	GetMigration(ctx context.Context, id int64) (Migration, error)
	// ListMigrations returns the migrations f selects, in f's order.
	ListMigrations(ctx context.Context, f MigrationFilter) ([]Migration, error)
}

// MigrationFilter selects migrations as nova's
// migration_get_all_by_filters does. Empty fields select everything.
type MigrationFilter struct {
	// Host matches the source or the destination compute; SourceCompute
	// only the source (ignored with Host).
	Host, SourceCompute string
	Status              []string
	InstanceUUID        string
	MigrationType       string
	Hidden              *bool
	UserID, ProjectID   string
	// ChangesSince and ChangesBefore bound updated_at, inclusive.
	ChangesSince, ChangesBefore time.Time
	// Paged orders by created_at and id, newest first, and applies Marker
	// (a migration's UUID; unknown is ErrMarkerNotFound) and Limit (0:
	// all). Unpaged lists are in id order.
	Paged  bool
	Marker string
	Limit  int
}

// MigrationListOptions are the query of GET /os-migrations, as decoded by
// the HTTP layer for the request's microversion.
type MigrationListOptions struct {
	Host, SourceCompute, Status, InstanceUUID, MigrationType string
	Hidden                                                   *string
	UserID, ProjectID                                        string
	// ChangesSince and ChangesBefore are as given (2.59, 2.66), "" when
	// absent.
	ChangesSince, ChangesBefore string
	// Paged is 2.59 and later: newest first, with Limit and Marker.
	Paged  bool
	Limit  *int
	Marker *string
}

// MigrationList is a page of migrations with what policy lets the caller see.
type MigrationList struct {
	Migrations []Migration
	// Hosts is false when the caller may not see hosts and nodes.
	Hosts bool
}

func (s *Service) migrationStore() (MigrationStore, error) {
	m, ok := s.store.(MigrationStore)
	if !ok {
		return nil, errors.New("the compute store keeps no migrations")
	}
	return m, nil
}

// Migrations lists migration records (GET /os-migrations). Listing
// another project's, or every project's, takes os-migrations:index:
// all_projects; hosts are blanked unless index:host allows them.
func (s *Service) Migrations(ctx context.Context, o MigrationListOptions) (MigrationList, error) {
	c, err := caller(ctx)
	if err != nil {
		return MigrationList{}, err
	}
	if err := s.authorize(ctx, RuleMigrationsIndex, callerTarget(c)); err != nil {
		return MigrationList{}, err
	}
	if o.ProjectID == "" || o.ProjectID != c.ProjectID {
		if err := s.authorize(ctx, RuleMigrationsIndexAllProjects, callerTarget(c)); err != nil {
			return MigrationList{}, err
		}
	}
	hosts := s.allowed(ctx, RuleMigrationsIndexHost)
	ms, err := s.migrationStore()
	if err != nil {
		return MigrationList{}, err
	}
	f := MigrationFilter{Host: o.Host, SourceCompute: o.SourceCompute, InstanceUUID: o.InstanceUUID,
		MigrationType: o.MigrationType, UserID: o.UserID, ProjectID: o.ProjectID, Paged: o.Paged}
	if o.Status != "" {
		f.Status = []string{o.Status}
	}
	if o.Hidden != nil {
		h, err := strconv.ParseBool(*o.Hidden)
		if err != nil {
			h = *o.Hidden == "yes" || *o.Hidden == "on"
		}
		f.Hidden = &h
	}
	if o.Paged {
		opts := map[string]string{}
		if o.ChangesSince != "" {
			opts["changes-since"] = o.ChangesSince
		}
		if o.ChangesBefore != "" {
			opts["changes-before"] = o.ChangesBefore
		}
		if err := changesFilter(opts, &f.ChangesSince, &f.ChangesBefore); err != nil {
			return MigrationList{}, err
		}
		f.Limit = s.limit(o.Limit)
		if f.Limit == 0 {
			return MigrationList{Migrations: []Migration{}, Hosts: hosts}, nil
		}
		if o.Marker != nil {
			f.Marker = *o.Marker
		}
	}
	out, err := ms.ListMigrations(ctx, f)
	if errors.Is(err, ErrMarkerNotFound) {
		return MigrationList{}, errorf(ErrInvalid, "Marker %s could not be found.", f.Marker)
	}
	if err != nil {
		return MigrationList{}, fmt.Errorf("list migrations: %w", err)
	}
	// Hidden records never show, whatever the filter asked.
	out = slices.DeleteFunc(out, func(m Migration) bool { return m.Hidden })
	if out == nil {
		out = []Migration{}
	}
	return MigrationList{Migrations: out, Hosts: hosts}, nil
}

// ServerMigrations lists the live migrations of a server under way (GET
// /servers/{id}/migrations, 2.23).
func (s *Service) ServerMigrations(ctx context.Context, id string) (MigrationList, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return MigrationList{}, err
	}
	if err := s.authorize(ctx, RuleServerMigrationsIndex, projectTarget(inst)); err != nil {
		return MigrationList{}, err
	}
	hosts := s.authorize(ctx, RuleServerMigrationsIndexHost, projectTarget(inst)) == nil
	ms, err := s.migrationStore()
	if err != nil {
		return MigrationList{}, err
	}
	out, err := ms.ListMigrations(ctx, MigrationFilter{InstanceUUID: inst.UUID, MigrationType: MigrationTypeLive,
		Status: liveInProgress})
	if err != nil {
		return MigrationList{}, fmt.Errorf("list migrations of %s: %w", id, err)
	}
	out = slices.DeleteFunc(out, func(m Migration) bool { return m.Hidden })
	if out == nil {
		out = []Migration{}
	}
	return MigrationList{Migrations: out, Hosts: hosts}, nil
}

// serverMigration returns migration mid of a live server, after the
// server's lookup and rule; a migration of another instance is nova's
// MigrationNotFoundForInstance (the caller words the 404 or 400).
func (s *Service) serverMigration(ctx context.Context, id, mid, rule string) (Instance, Migration, error) {
	inst, err := s.lookup(ctx, id, false)
	if err != nil {
		return Instance{}, Migration{}, err
	}
	if err := s.authorize(ctx, rule, projectTarget(inst)); err != nil {
		return Instance{}, Migration{}, err
	}
	ms, err := s.migrationStore()
	if err != nil {
		return Instance{}, Migration{}, err
	}
	n, perr := strconv.ParseInt(mid, 10, 64)
	var m Migration
	if perr == nil {
		m, err = ms.GetMigration(ctx, n)
	}
	if perr != nil || errors.Is(err, ErrNotFound) || (err == nil && (m.InstanceUUID != inst.UUID || m.Hidden)) {
		return inst, Migration{}, errMigrationNotFoundForInstance
	}
	if err != nil {
		return Instance{}, Migration{}, fmt.Errorf("get migration %s of %s: %w", mid, id, err)
	}
	return inst, m, nil
}

// errMigrationNotFoundForInstance marks a migration id that names no
// migration of the server.
var errMigrationNotFoundForInstance = errors.New("migration not found for instance")

// ServerMigration returns an in-progress live migration of a server (GET
// /servers/{id}/migrations/{migration_id}, 2.23).
func (s *Service) ServerMigration(ctx context.Context, id, mid string) (Migration, error) {
	inst, m, err := s.serverMigration(ctx, id, mid, RuleServerMigrationsShow)
	switch {
	case errors.Is(err, errMigrationNotFoundForInstance):
		return Migration{}, errorf(ErrNotFound, "In-progress live migration %s is not found for server %s.", mid, inst.UUID)
	case err != nil:
		return Migration{}, err
	case m.MigrationType != MigrationTypeLive:
		return Migration{}, errorf(ErrNotFound, "Migration %s for server %s is not live-migration.", mid, inst.UUID)
	case !MigrationInProgress(m):
		return Migration{}, errorf(ErrNotFound, "Live migration %s for server %s is not in progress.", mid, inst.UUID)
	}
	return m, nil
}

// LiveMigrationSteerer is a Conductor that can ask a source host to
// force a live migration to complete or to abort it. A conductor without
// it accepts the requests and the migration runs its course, as nova's
// compute hosts do with drivers that cannot steer one.
type LiveMigrationSteerer interface {
	ForceCompleteLiveMigration(ctx context.Context, inst Instance, m Migration) error
	AbortLiveMigration(ctx context.Context, inst Instance, m Migration) error
}

// Instance action names of steering a live migration.
const (
	ActionLiveMigrationForceComplete = "live_migration_force_complete"
	ActionLiveMigrationCancel        = "live_migration_cancel"
)

// ForceCompleteMigration asks a running live migration to complete (POST
// /servers/{id}/migrations/{migration_id}/action force_complete, 2.22).
func (s *Service) ForceCompleteMigration(ctx context.Context, id, mid string) error {
	inst, m, err := s.serverMigration(ctx, id, mid, RuleServerMigrationsForceComplete)
	if err := steerState(inst, err, mid, "force_complete", []VMState{VMActive}, ErrInvalid); err != nil {
		return err
	}
	if m.Status != MigrationRunning {
		return invalidMigrationState(mid, inst.UUID, m.Status, "force complete")
	}
	return s.steer(ctx, inst, m, ActionLiveMigrationForceComplete, func(st LiveMigrationSteerer) error {
		return st.ForceCompleteLiveMigration(ctx, inst, m)
	})
}

// AbortMigration aborts a live migration under way (DELETE
// /servers/{id}/migrations/{migration_id}, 2.24); from 2.65 (inQueue) one
// still queued or preparing too.
func (s *Service) AbortMigration(ctx context.Context, id, mid string, inQueue bool) error {
	inst, m, err := s.serverMigration(ctx, id, mid, RuleServerMigrationsDelete)
	if err := steerState(inst, err, mid, "abort live migration", nil, ErrNotFound); err != nil {
		return err
	}
	allowed := []string{MigrationRunning}
	if inQueue {
		allowed = append(allowed, MigrationQueued, MigrationPreparing)
	}
	if !slices.Contains(allowed, m.Status) {
		return invalidMigrationState(mid, inst.UUID, m.Status, "abort live migration")
	}
	return s.steer(ctx, inst, m, ActionLiveMigrationCancel, func(st LiveMigrationSteerer) error {
		return st.AbortLiveMigration(ctx, inst, m)
	})
}

// steerState applies nova's checks before steering a live migration, in
// its order: the lock, then the server's state, then the migration (one
// of another server is missing of kind).
func steerState(inst Instance, err error, mid, action string, vmStates []VMState, missing error) error {
	if err != nil && !errors.Is(err, errMigrationNotFoundForInstance) {
		return err
	}
	if inst.Locked {
		return errorf(ErrConflict, "Instance %s is locked", inst.UUID)
	}
	if (vmStates != nil && !slices.Contains(vmStates, inst.VMState)) || inst.TaskState != TaskMigrating {
		attr, state := "task_state", string(inst.TaskState)
		if vmStates != nil && !slices.Contains(vmStates, inst.VMState) {
			attr, state = "vm_state", string(inst.VMState)
		}
		if state == "" {
			state = "None"
		}
		return errorf(ErrConflict, "Cannot '%s' instance %s while it is in %s %s", action, inst.UUID, attr, state)
	}
	if err != nil {
		return errorf(missing, "Migration %s not found for instance %s", mid, inst.UUID)
	}
	return nil
}

func invalidMigrationState(mid, uuid, state, method string) error {
	return errorf(ErrInvalid, "Migration %s state of instance %s is %s. Cannot %s while the migration is in this state.",
		mid, uuid, state, method)
}

// steer records the action and hands the request to the conductor, when
// it can steer live migrations.
func (s *Service) steer(ctx context.Context, inst Instance, m Migration, action string, cast func(LiveMigrationSteerer) error) error {
	c, err := caller(ctx)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	a := InstanceAction{Action: action, InstanceUUID: inst.UUID, RequestID: RequestID(ctx), UserID: c.UserID,
		ProjectID: c.ProjectID, StartTime: now, UpdatedAt: now}
	if err := s.inst.RecordAction(ctx, a); err != nil {
		return fmt.Errorf("record %s of %s: %w", action, inst.UUID, err)
	}
	st, ok := s.cond.(LiveMigrationSteerer)
	if !ok {
		s.log.InfoContext(ctx, "live migration runs its course; the conductor cannot steer it", "instance_uuid",
			inst.UUID, "migration_id", m.ID, "action", action)
		return nil
	}
	return cast(st)
}

// The lifecycle methods below are for the conductor's move flows: they
// apply no policy.

// RecordMigration stores a new migration record; its UUID, times and,
// when empty, project and user are filled in.
func (s *Service) RecordMigration(ctx context.Context, m Migration) (Migration, error) {
	ms, err := s.migrationStore()
	if err != nil {
		return Migration{}, err
	}
	if m.UUID == "" {
		m.UUID = s.newID()
	}
	m.CreatedAt, m.UpdatedAt = s.now().UTC(), time.Time{}
	out, err := ms.CreateMigration(ctx, m)
	if err != nil {
		return Migration{}, fmt.Errorf("record migration of %s: %w", m.InstanceUUID, err)
	}
	return out, nil
}

// UpdateMigration changes the newest migration of an instance: mutate
// sees it as stored and may refuse (its error is returned, nothing
// written). An instance without migrations is ErrNotFound.
func (s *Service) UpdateMigration(ctx context.Context, instanceUUID string, mutate func(*Migration) error) (Migration, error) {
	ms, err := s.migrationStore()
	if err != nil {
		return Migration{}, err
	}
	now := s.now().UTC()
	return ms.UpdateLatestMigration(ctx, instanceUUID, func(m *Migration) error {
		if err := mutate(m); err != nil {
			return err
		}
		m.UpdatedAt = now
		return nil
	})
}
