export { maskUrl } from '../providers/maskUrl';
