package libvirt

import (
	"context"
	"fmt"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/nimbus-cloud/nimbus/internal/virt"
)

// Diagnostics reports the instance as libvirt knows it, as nova's
// get_instance_diagnostics does: the domain's state, memory and vCPUs
// (virDomainGetInfo), and while it runs each vCPU's time
// (virDomainGetVcpus), the memory the guest uses (its balloon's
// statistics, else QEMU's resident memory), each disk's counters
// (virDomainBlockStats) and those of each network card with a host
// device (virDomainInterfaceStats; user-mode networking keeps none).
// Uptime is since the driver last started the domain.
func (d *Driver) Diagnostics(ctx context.Context, uuid string) (virt.Diagnostics, error) {
	in, end, err := d.begin(ctx, d.instances, uuid)
	if err != nil {
		return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: %w", uuid, err)
	}
	defer end()
	conn, err := d.connection()
	if err != nil {
		return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: %w", uuid, err)
	}
	state, err := d.state(in)
	if err != nil {
		return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: %w", uuid, err)
	}
	dom := domainOf(in)
	_, maxMemKiB, memKiB, nrVCPUs, _, err := conn.DomainGetInfo(dom)
	if err != nil {
		return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: domain info: %w", uuid, err)
	}
	doc, err := conn.DomainGetXMLDesc(dom, 0)
	if err != nil {
		return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: domain xml: %w", uuid, err)
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(doc); err != nil {
		return virt.Diagnostics{}, fmt.Errorf("diagnostics of %s: decode domain xml: %w", uuid, err)
	}
	d.mu.Lock()
	diag := virt.Diagnostics{State: state.String(), Driver: "libvirt", Hypervisor: d.virtType, HypervisorOS: "linux",
		ConfigDrive: in.rec.ConfigDrive != "", MemoryMaxKB: int64(maxMemKiB)}
	started := in.rec.Started
	d.mu.Unlock()
	for i := range int(nrVCPUs) {
		diag.CPUs = append(diag.CPUs, virt.CPUDiagnostics{ID: i, Utilisation: -1})
	}
	var disks, ifaces []string
	if def.Devices != nil {
		for _, k := range def.Devices.Disks {
			if k.Target != nil && k.Target.Dev != "" {
				disks = append(disks, k.Target.Dev)
				diag.Disks = append(diag.Disks, virt.DiskDiagnostics{Name: k.Target.Dev})
			}
		}
		for _, n := range def.Devices.Interfaces {
			var nd virt.NICDiagnostics
			if n.MAC != nil {
				nd.MAC = n.MAC.Address
			}
			dev := ""
			if n.Target != nil {
				dev = n.Target.Dev
			}
			ifaces = append(ifaces, dev)
			diag.NICs = append(diag.NICs, nd)
		}
	}
	if state != virt.Running && state != virt.Paused {
		return diag, nil
	}
	if !started.IsZero() {
		diag.Uptime = max(0, int64(d.opts.Now().Sub(started).Seconds()))
	}
	// Counters libvirt cannot give (a domain that stopped meanwhile, a
	// hypervisor without them) stay zero, as nova leaves them out.
	warn := func(what string, err error) {
		d.log.WarnContext(ctx, what, "instance_uuid", uuid, "error", err)
	}
	if info, _, err := conn.DomainGetVcpus(dom, int32(nrVCPUs), 1); err == nil {
		for _, v := range info {
			if int(v.Number) < len(diag.CPUs) {
				diag.CPUs[v.Number].Time = int64(v.CPUTime)
			}
		}
	} else {
		warn("vcpu info", err)
	}
	diag.MemoryUsedKB = int64(memKiB)
	if stats, err := conn.DomainMemoryStats(dom, uint32(golibvirt.DomainMemoryStatNr), 0); err == nil {
		if used, ok := memoryUsed(stats); ok {
			diag.MemoryUsedKB = min(used, diag.MemoryMaxKB)
		}
	} else {
		warn("memory stats", err)
	}
	for i, dev := range disks {
		rdReq, rdBytes, wrReq, wrBytes, errs, err := conn.DomainBlockStats(dom, dev)
		if err != nil {
			warn("block stats of "+dev, err)
			continue
		}
		k := &diag.Disks[i]
		k.ReadRequests, k.ReadBytes, k.WriteRequests, k.WriteBytes, k.ErrorsCount = rdReq, rdBytes, wrReq, wrBytes, max(errs, 0)
	}
	for i, dev := range ifaces {
		if dev == "" {
			continue
		}
		rxB, rxP, rxE, rxD, txB, txP, txE, txD, err := conn.DomainInterfaceStats(dom, dev)
		if err != nil {
			warn("interface stats of "+dev, err)
			continue
		}
		n := &diag.NICs[i]
		n.RxOctets, n.RxPackets, n.RxErrors, n.RxDrop = rxB, rxP, rxE, rxD
		n.TxOctets, n.TxPackets, n.TxErrors, n.TxDrop = txB, txP, txE, txD
	}
	return diag, nil
}

// memoryUsed is the memory the guest uses, in KiB, from a domain's memory
// statistics: what its balloon driver reports available less what is
// unused, or else QEMU's resident memory.
func memoryUsed(stats []golibvirt.DomainMemoryStat) (int64, bool) {
	val := map[golibvirt.DomainMemoryStatTags]int64{}
	for _, s := range stats {
		val[golibvirt.DomainMemoryStatTags(s.Tag)] = int64(s.Val)
	}
	avail, okA := val[golibvirt.DomainMemoryStatAvailable]
	unused, okU := val[golibvirt.DomainMemoryStatUnused]
	if okA && okU && avail >= unused {
		return avail - unused, true
	}
	rss, ok := val[golibvirt.DomainMemoryStatRss]
	return rss, ok
}
