import { Type } from 'typebox';
import { GROUP_NAME } from '../store/groups.js';

/** A user's groups, as the admin API, the command line and the import file take them. */
export const MAX_GROUPS = 64;
export const GroupName = Type.String({ pattern: GROUP_NAME.source, maxLength: 64 });
export const GroupNames = Type.Array(GroupName, { maxItems: MAX_GROUPS });
/** Said instead of echoing a refused value, which may carry a control character or a secret. */
export const GROUP_NAME_RULE = "1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit";
