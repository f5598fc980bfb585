-- Image copies: the location of an image's data in each store that holds it,
-- when a site has several stores (copy-image, imports to several stores).
-- images.location stays the copy downloads read, in images.stores' first store.

CREATE TABLE image_copies (
    image_id VARCHAR(36) NOT NULL,
    store VARCHAR(255) NOT NULL,
    location TEXT NOT NULL,
    PRIMARY KEY (image_id, store),
    CONSTRAINT image_copies_image_fk FOREIGN KEY (image_id) REFERENCES images (id)
)${TABLE};
