-- Image locations (glance's image_locations): the ordered list of places an
-- image's data is kept, beyond the backend location of uploaded data. seq
-- orders the list from 0; metadata is JSON object text.

CREATE TABLE image_locations (
    image_id VARCHAR(36) NOT NULL,
    seq INTEGER NOT NULL,
    url TEXT NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (image_id, seq),
    CONSTRAINT image_locations_image_fk FOREIGN KEY (image_id) REFERENCES images (id)
)${TABLE};
