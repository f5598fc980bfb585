package app

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// backupQuery filters an image list on the properties nova gives backups.
type backupQuery struct{ instance, kind string }

func (q backupQuery) ToImageListQuery() (string, error) {
	v := url.Values{"instance_uuid": {q.instance}, "image_type": {"backup"}, "backup_type": {q.kind},
		"sort_key": {"created_at"}, "sort_dir": {"desc"}}
	return "?" + v.Encode(), nil
}

// Backups lists an instance's backup images of a type, newest first, for
// the compute agents' rotation.
func (f imageFetcher) Backups(ctx context.Context, instanceUUID, backupType string) ([]string, error) {
	var ids []string
	err := images.List(f.sc, backupQuery{instance: instanceUUID, kind: backupType}).EachPage(ctx,
		func(_ context.Context, p pagination.Page) (bool, error) {
			imgs, err := images.ExtractImages(p)
			if err != nil {
				return false, err
			}
			for _, img := range imgs {
				ids = append(ids, img.ID)
			}
			return true, nil
		})
	if err != nil {
		return nil, fmt.Errorf("list backups of instance %s: %w", instanceUUID, err)
	}
	return ids, nil
}
