/**
 * podnet's OCI image: the name the DaemonSet in deploy/ runs (the lab's kubelet recognises it and runs its
 * containers as podnet processes) and, below, its offline builder.
 */

/** The image deploy/ names; its tag is package.json's version (a unit test keeps them equal). */
export const PODNET_IMAGE = 'localhost/podnet:0.1.0';
