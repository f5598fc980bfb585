package libvirt

import (
	"context"
	"fmt"
	"net/url"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// Conn is the part of libvirt's remote protocol the driver uses, as
// github.com/digitalocean/go-libvirt's *Libvirt speaks it over libvirtd's
// socket; tests give a fake.
type Conn interface {
	ConnectGetCapabilities() (string, error)
	NodeGetInfo() (rModel [32]int8, rMemory uint64, rCpus int32, rMhz int32, rNodes int32, rSockets int32, rCores int32, rThreads int32, err error)
	ConnectGetVersion() (uint64, error)
	ConnectGetLibVersion() (uint64, error)

	DomainDefineXMLFlags(xml string, flags golibvirt.DomainDefineFlags) (golibvirt.Domain, error)
	DomainLookupByUUID(uuid golibvirt.UUID) (golibvirt.Domain, error)
	DomainGetXMLDesc(dom golibvirt.Domain, flags golibvirt.DomainXMLFlags) (string, error)
	DomainGetState(dom golibvirt.Domain, flags uint32) (state int32, reason int32, err error)
	DomainCreateWithFlags(dom golibvirt.Domain, flags uint32) (golibvirt.Domain, error)
	DomainDestroyFlags(dom golibvirt.Domain, flags golibvirt.DomainDestroyFlagsValues) error
	DomainUndefineFlags(dom golibvirt.Domain, flags golibvirt.DomainUndefineFlagsValues) error
	DomainShutdownFlags(dom golibvirt.Domain, flags golibvirt.DomainShutdownFlagValues) error
	DomainSuspend(dom golibvirt.Domain) error
	DomainResume(dom golibvirt.Domain) error
	DomainManagedSave(dom golibvirt.Domain, flags uint32) error
	DomainHasManagedSaveImage(dom golibvirt.Domain, flags uint32) (int32, error)
	DomainManagedSaveRemove(dom golibvirt.Domain, flags uint32) error
	// DomainMigratePerform3Params with a destination URI is a
	// peer-to-peer migration, as virDomainMigrateToURI3 makes it.
	DomainMigratePerform3Params(dom golibvirt.Domain, dconnuri golibvirt.OptString, params []golibvirt.TypedParam, cookieIn []byte,
		flags golibvirt.DomainMigrateFlags) ([]byte, error)
	DomainAbortJob(dom golibvirt.Domain) error

	// What diagnostics read.
	DomainGetInfo(dom golibvirt.Domain) (rState uint8, rMaxMem uint64, rMemory uint64, rNrVirtCPU uint16, rCPUTime uint64, err error)
	DomainGetVcpus(dom golibvirt.Domain, maxinfo int32, maplen int32) (rInfo []golibvirt.VcpuInfo, rCpumaps []byte, err error)
	DomainMemoryStats(dom golibvirt.Domain, maxStats uint32, flags uint32) (rStats []golibvirt.DomainMemoryStat, err error)
	DomainBlockStats(dom golibvirt.Domain, path string) (rRdReq int64, rRdBytes int64, rWrReq int64, rWrBytes int64, rErrs int64, err error)
	DomainInterfaceStats(dom golibvirt.Domain, device string) (rRxBytes int64, rRxPackets int64, rRxErrs int64, rRxDrop int64,
		rTxBytes int64, rTxPackets int64, rTxErrs int64, rTxDrop int64, err error)

	// LifecycleEvents streams every domain's lifecycle events until ctx
	// ends or the connection is lost, when the channel closes.
	LifecycleEvents(ctx context.Context) (<-chan golibvirt.DomainEventLifecycleMsg, error)
	Disconnect() error
}

var _ Conn = (*golibvirt.Libvirt)(nil)

// Dial connects to libvirtd at uri, a libvirt connection URI as nova's
// [libvirt] connection_uri: qemu:///system, or
// qemu:///system?socket=/path/to/libvirt-sock for a daemon on another
// socket.
func Dial(uri string) (*golibvirt.Libvirt, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("libvirt connection uri %q: %w", uri, err)
	}
	l, err := golibvirt.ConnectToURI(u)
	if err != nil {
		return nil, fmt.Errorf("connect to libvirt at %s: %w", uri, err)
	}
	return l, nil
}
