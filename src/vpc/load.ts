/**
 * Reading a topology or scenario file: the one place src/vpc touches the file system (through lib's readUserFile),
 * so that every reader of these files gets the same errors; everything after the text is parsing.
 */
import { parse as parseYaml } from 'yaml';
import { PodnetError, readUserFile } from '../lib/index.js';
import { parseTopology, type Topology } from './topology.js';

/**
 * Reads a YAML file the user named (`what`: "topology file", "scenario file"): FILE_UNREADABLE with `hint` if it
 * cannot be read, CONFIG_INVALID if it is not YAML; the document is not validated.
 */
export function readYamlFile(path: string, what: string, hint: string): unknown {
  const text = readUserFile(path, what, hint);
  try {
    return parseYaml(text);
  } catch (err) {
    throw new PodnetError('CONFIG_INVALID', `${what} ${path} is not valid YAML: ${(err as Error).message}`, 'fix the YAML syntax at the position named above');
  }
}

/** Reads and validates a topology YAML file. */
export async function loadTopology(path: string): Promise<Topology> {
  return parseTopology(readYamlFile(path, 'topology file', 'check the path'), `topology file ${path}`);
}
